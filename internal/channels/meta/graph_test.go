package meta_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/channels/meta/metatest"
)

var testPage = metatest.Page{ID: "1234567890", Name: "Parley Shop", Token: "EAAPageTokenForTests0123456789", AppSecret: "0123456789abcdef0123456789abcdef", InstagramID: "17841400000000001"}

func TestGraphSend(t *testing.T) {
	g := metatest.StartGraph(t)
	g.AddPage(testPage)
	c := meta.NewGraph(g.URL, metatest.Version, nil)
	cred := meta.Credentials{PageToken: testPage.Token, AppSecret: testPage.AppSecret}

	res, err := c.Send(t.Context(), cred, meta.SendRequest{From: testPage.ID, Recipient: "psid-1", Text: "Hello 👋"})
	if err != nil {
		t.Fatal(err)
	}
	if res.RecipientID != "psid-1" || !strings.HasPrefix(res.MessageID, "m_") {
		t.Errorf("answer %+v", res)
	}
	if _, err := c.Send(t.Context(), cred, meta.SendRequest{From: testPage.ID, Recipient: "psid-1", Text: "Still there?", Tag: "HUMAN_AGENT"}); err != nil {
		t.Fatal(err)
	}
	sends := g.Sends()
	want := []metatest.Send{
		{PageID: testPage.ID, Recipient: "psid-1", Text: "Hello 👋", MessagingType: "RESPONSE"},
		{PageID: testPage.ID, Recipient: "psid-1", Text: "Still there?", MessagingType: "MESSAGE_TAG", Tag: "HUMAN_AGENT"},
	}
	if len(sends) != len(want) {
		t.Fatalf("%d sends, want %d", len(sends), len(want))
	}
	for i, s := range sends {
		w := want[i]
		if s.PageID != w.PageID || s.Recipient != w.Recipient || s.Text != w.Text || s.MessagingType != w.MessagingType || s.Tag != w.Tag {
			t.Errorf("send %d = %+v, want %+v", i, s, w)
		}
	}
}

func TestGraphErrors(t *testing.T) {
	g := metatest.StartGraph(t)
	g.AddPage(testPage)
	c := meta.NewGraph(g.URL, metatest.Version, nil)
	cred := meta.Credentials{PageToken: testPage.Token, AppSecret: testPage.AppSecret}
	req := meta.SendRequest{From: testPage.ID, Recipient: "psid-1", Text: "hi"}

	tests := []struct {
		name                         string
		status                       int
		body                         string
		header                       map[string]string
		code, subcode                int
		temporary, token, outsideWin bool
		retryAfter                   time.Duration
	}{
		{"expired token", 400, metatest.ExpiredToken, nil, 190, 463, false, true, false, 0},
		{"rate limit", 400, metatest.RateLimited, map[string]string{"Retry-After": "7"}, 613, 0, true, false, false, 7 * time.Second},
		{"outside the window", 400, metatest.OutOfWindow, nil, 10, 2018278, false, false, true, 0},
		{"temporary send failure", 500, metatest.ErrorBody("Temporary send message failure. Please try again later", "OAuthException", 1200, 0), nil, 1200, 0, true, false, false, 0},
		{"server error without a Graph document", 503, "<html>Service Unavailable</html>", nil, 0, 0, true, false, false, 0},
		{"user unavailable", 400, metatest.ErrorBody("(#551) This person isn't available right now.", "OAuthException", 551, 1545041), nil, 551, 1545041, false, false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.FailSends(1, tc.status, tc.body, tc.header)
			_, err := c.Send(t.Context(), cred, req)
			var ae *meta.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an APIError", err)
			}
			if ae.HTTPStatus != tc.status || ae.Code != tc.code || ae.Subcode != tc.subcode || ae.RetryAfter != tc.retryAfter {
				t.Errorf("error %+v", ae)
			}
			if ae.Temporary() != tc.temporary || meta.Temporary(err) != tc.temporary {
				t.Errorf("Temporary = %v, want %v", ae.Temporary(), tc.temporary)
			}
			if ae.TokenProblem() != tc.token || ae.OutsideWindow() != tc.outsideWin {
				t.Errorf("TokenProblem %v OutsideWindow %v", ae.TokenProblem(), ae.OutsideWindow())
			}
			if d := meta.Describe(err); !strings.Contains(d, "code") {
				t.Errorf("Describe = %q", d)
			}
		})
	}
}

func TestTemporaryCodes(t *testing.T) {
	for _, tc := range []struct {
		e    meta.APIError
		want bool
	}{
		{meta.APIError{Code: 4}, true},
		{meta.APIError{Code: 17}, true},
		{meta.APIError{Code: 32}, true},
		{meta.APIError{Code: 613}, true},
		{meta.APIError{Code: 2}, true},
		{meta.APIError{Code: 1}, true},
		{meta.APIError{Code: 1, Subcode: 99}, false},
		{meta.APIError{Code: 190, Subcode: 460}, false},
		{meta.APIError{Code: 10, Subcode: 2018278}, false},
		{meta.APIError{Code: 100}, false},
		{meta.APIError{Code: 100, Transient: true}, true},
		{meta.APIError{HTTPStatus: 502}, true},
	} {
		if got := tc.e.Temporary(); got != tc.want {
			t.Errorf("%+v: Temporary = %v, want %v", tc.e, got, tc.want)
		}
	}
	if !meta.Temporary(errors.New("connection refused")) {
		t.Error("a network error is not temporary")
	}
}

func TestGraphKeepsTokenOutOfErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := meta.NewGraph("http://"+addr, metatest.Version, &http.Client{Timeout: 2 * time.Second})
	_, err = c.Send(t.Context(), meta.Credentials{PageToken: "SECRET-TOKEN-123", AppSecret: "APPSECRET-456"}, meta.SendRequest{From: "1", Recipient: "2", Text: "x"})
	if err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	for _, leak := range []string{"SECRET-TOKEN-123", "APPSECRET-456", "access_token", "appsecret_proof"} {
		if strings.Contains(err.Error(), leak) || strings.Contains(meta.Describe(err), leak) {
			t.Errorf("error %q shows %q", err, leak)
		}
	}
	if !meta.Temporary(err) {
		t.Error("an unreachable Graph API is not temporary")
	}
}

func TestGraphProfile(t *testing.T) {
	g := metatest.StartGraph(t)
	g.AddPage(testPage)
	g.SetProfile("psid-1", map[string]string{"first_name": "Peter", "last_name": "Chang", "profile_pic": "https://scontent.example/p.jpg"})
	g.SetProfile("igsid-1", map[string]string{"name": "", "username": "peter.c"})
	c := meta.NewGraph(g.URL, metatest.Version, nil)
	cred := meta.Credentials{PageToken: testPage.Token, AppSecret: testPage.AppSecret}

	p, err := c.Profile(t.Context(), cred, false, "psid-1")
	if err != nil || p.DisplayName() != "Peter Chang" || p.ProfilePic == "" {
		t.Errorf("messenger profile %+v, %v", p, err)
	}
	p, err = c.Profile(t.Context(), cred, true, "igsid-1")
	if err != nil || p.DisplayName() != "@peter.c" {
		t.Errorf("instagram profile %+v, %v (name %q)", p, err, p.DisplayName())
	}
	if _, err := c.Profile(t.Context(), cred, false, "unknown"); err == nil {
		t.Error("profile of an unknown person succeeded")
	}
	name, err := c.PageName(t.Context(), cred, testPage.ID)
	if err != nil || name != "Parley Shop" {
		t.Errorf("page name %q, %v", name, err)
	}
	if err := c.Subscribe(t.Context(), cred, testPage.ID); err != nil {
		t.Errorf("subscribe: %v", err)
	}
	if _, err := c.PageName(t.Context(), meta.Credentials{PageToken: "wrong-token-0000"}, testPage.ID); err == nil {
		t.Error("an unknown token was accepted")
	}
}
