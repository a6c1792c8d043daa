package inbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const hookSecret = "s3cret-inbound-hook-value"

func TestHook(t *testing.T) {
	reply := strings.Replace(string(fixture(t, "testdata/gmail_en.eml")),
		"reply+ah2q4ayhbnkgm3n6rluxmlrmvwlkqbvbgq7mvq4a5xk2e@reply.acme.example", replyAddress(testConv), 1)
	toStranger := strings.Replace(reply, replyAddress(testConv), "someone@example.com", 1)
	// The reply address only in Delivered-To, as a provider's forwarding leaves it.
	deliveredTo := "Delivered-To: " + replyAddress("4f2a") + "\r\n" + toStranger
	oof := strings.Replace(string(fixture(t, "testdata/autoreply/outlook_oof_de.eml")),
		"reply+ah2q4ayhbnkgm3n6rluxmlrmvwlkqbvbgq7mvq4a5xk2e@reply.acme.example", replyAddress(testConv), 1)

	tests := []struct {
		name     string
		method   string // "" is POST
		secret   string // the header; "-" for none
		hook     string // the configured secret; "" is hookSecret
		query    url.Values
		body     io.Reader
		sinkErr  error
		status   int
		code     string // error code, or "" for {"status":"accepted"}
		wantConv string // the conversation Reply got; "" for no Reply
	}{
		{name: "reply", body: strings.NewReader(reply), status: 202, wantConv: testConv},
		{name: "missing secret", secret: "-", body: strings.NewReader(reply), status: 401, code: "unauthorized"},
		{name: "wrong secret", secret: "wrong", body: strings.NewReader(reply), status: 401, code: "unauthorized"},
		{name: "secret with a suffix", secret: hookSecret + "x", body: strings.NewReader(reply), status: 401, code: "unauthorized"},
		{name: "endpoint off", hook: "-", secret: "-", body: strings.NewReader(reply), status: 404, code: "not_found"},
		{name: "GET", method: http.MethodGet, status: 405, code: "method_not_allowed"},
		{name: "unknown recipient", body: strings.NewReader(toStranger), status: 404, code: "unknown_recipient"},
		{name: "forged recipient parameter", query: url.Values{"recipient": {"reply+forged@" + testDomain}},
			body: strings.NewReader(reply), status: 404, code: "unknown_recipient"},
		{name: "recipient parameter overrides the header", query: url.Values{"recipient": {replyAddress("4f2a")}},
			body: strings.NewReader(toStranger), status: 202, wantConv: "4f2a"},
		{name: "recipient from Delivered-To", body: strings.NewReader(deliveredTo), status: 202, wantConv: "4f2a"},
		{name: "garbage", body: strings.NewReader("this is not an email"), status: 400, code: "bad_request"},
		{name: "empty body", body: strings.NewReader(""), status: 400, code: "bad_request"},
		{name: "sink failure", body: strings.NewReader(reply), sinkErr: errors.New("db down"), status: 503, code: "unavailable"},
		{name: "conversation gone", body: strings.NewReader(reply), sinkErr: fmt.Errorf("deleted: %w", ErrUnknownRecipient),
			status: 404, code: "unknown_recipient"},
		{name: "auto-reply accepted and dropped", body: strings.NewReader(oof), status: 202},
		{name: "too large, announced", body: bytes.NewReader(make([]byte, MaxMessageBytes+1)), status: 413, code: "too_large"},
		{name: "too large, streamed", body: io.MultiReader(strings.NewReader("Subject: big\r\n\r\n"), bytes.NewReader(make([]byte, MaxMessageBytes))),
			status: 413, code: "too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{err: tc.sinkErr}
			secret := tc.hook
			switch secret {
			case "":
				secret = hookSecret
			case "-":
				secret = ""
			}
			h := NewHook(secret, testResolver(), sink, nil)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			target := "/api/inbound/v1/mime"
			if tc.query != nil {
				target += "?" + tc.query.Encode()
			}
			req := httptest.NewRequest(method, target, tc.body)
			switch tc.secret {
			case "":
				req.Header.Set("X-Parley-Inbound-Secret", hookSecret)
			case "-":
			default:
				req.Header.Set("X-Parley-Inbound-Secret", tc.secret)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body struct {
				Status string `json:"status"`
				Error  struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if tc.code == "" && body.Status != "accepted" || body.Error.Code != tc.code || tc.code != "" && body.Error.Message == "" {
				t.Errorf("body %s, want code %q", rec.Body, tc.code)
			}
			replies, _ := sink.calls()
			switch {
			case tc.wantConv != "" && (len(replies) != 1 || replies[0].conversation != tc.wantConv):
				t.Errorf("replies %+v, want one to %s", replies, tc.wantConv)
			case tc.wantConv == "" && len(replies) > 0:
				t.Errorf("Reply called: %+v", replies)
			}
			if tc.wantConv != "" && replies[0].m.NewText != "Thanks Alex! It arrived today – but the box was damaged.\nCan I still return the boots?" {
				t.Errorf("NewText %q", replies[0].m.NewText)
			}
		})
	}
}
