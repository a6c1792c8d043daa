package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

// TestInboundSinkAnswers checks what the HTTP hook answers once chat has
// seen the message: a reply to a conversation that no longer exists is
// refused for good (404), not retried, and a bounce of no email of ours is
// accepted and dropped.
func TestInboundSinkAnswers(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_INBOUND_SECRET": "hook-secret-of-the-tests"})
	gone := "reply+" + s.App.Chat.Signer().Sign(token.Reply, model.NewID()) + "@reply.localhost"
	const bounce = "From: MAILER-DAEMON@mx.example.com\r\n" +
		"To: parley@localhost\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <dsn-1@mx.example.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n" +
		"Final-Recipient: rfc822; sam@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <not-ours@example.com>\r\n\r\n" +
		"--b--\r\n"
	tests := []struct {
		name, rcpt, raw string
		want            int
	}{
		{"reply to a deleted conversation", gone, "From: v@example.com\r\nTo: " + gone +
			"\r\nSubject: Re: hi\r\nMessage-ID: <r1@example.com>\r\n\r\nStill there?\r\n", http.StatusNotFound},
		{"bounce of no email of ours", "parley@localhost", bounce, http.StatusAccepted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", s.URL+"/api/inbound/v1/mime?recipient="+url.QueryEscape(tc.rcpt), strings.NewReader(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Parley-Inbound-Secret", "hook-secret-of-the-tests")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
