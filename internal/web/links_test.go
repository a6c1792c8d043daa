package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

// emailed is a visitor whose agent's reply was forwarded by email, through
// a real SMTP relay on loopback.
type emailed struct {
	srv          *apptest.Server
	relay        *apptest.Relay
	agent        apptest.Agent
	visitorToken string
	visitorID    string
	convID       string
	mail         apptest.Mail
	link         string // the conversation link of the email, as a path (/chat/...)
}

var chatLinkRE = regexp.MustCompile(`https?://[^\s"<>]+/chat/([a-z2-7]+)`)

func forwardedEmail(t *testing.T) *emailed {
	t.Helper()
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{
		"PARLEY_SMTP_URL": relay.URL, "PARLEY_MAIL_FROM": "chat@shop.example.com",
		"PARLEY_FORWARD_LEFT_AFTER": "1s", "PARLEY_FORWARD_QUIET": "1s",
	})
	e := &emailed{srv: srv, relay: relay, agent: srv.AddAgent("ann@example.com", "Ann")}
	var sess struct {
		VisitorToken string        `json:"visitor_token"`
		Visitor      model.Visitor `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	e.visitorToken, e.visitorID = sess.VisitorToken, sess.Visitor.ID
	srv.Do("PATCH", "/api/v1/visitors/"+e.visitorID, e.agent.Token, map[string]string{"email": "vera@example.org"}, http.StatusOK, nil)
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": e.visitorToken, "body": "Where is my parcel?"}, http.StatusCreated, &m)
	e.convID = m.ConversationID
	srv.Do("POST", "/api/v1/conversations/"+e.convID+"/messages", e.agent.Token, map[string]string{"body": "It left this morning.", "kind": "reply"}, http.StatusCreated, nil)
	e.mail = relay.Wait(t, 1, 60*time.Second)[0]
	found := chatLinkRE.FindStringSubmatch(unfold(e.mail.Raw))
	if found == nil {
		t.Fatalf("the forwarded email has no conversation link:\n%s", e.mail.Raw)
	}
	e.link = "/chat/" + found[1]
	return e
}

// unfold joins the lines quoted-printable cut (links are base32: no other
// escapes in them).
func unfold(raw []byte) string { return strings.ReplaceAll(string(raw), "=\r\n", "") }

// decodedParts returns the mail's header and parts, decoded.
func decodedParts(t *testing.T, m apptest.Mail) string {
	t.Helper()
	text, err := m.Text()
	if err != nil {
		t.Fatalf("decode the mail: %v", err)
	}
	return text
}

// session exchanges a continue link for a widget session.
func (e *emailed) session(t *testing.T, siteKey, link string, want int) (string, []byte) {
	t.Helper()
	var out struct {
		VisitorToken string `json:"visitor_token"`
	}
	raw := e.srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": siteKey, "continue_link": strings.TrimPrefix(link, "/chat/")}, want, &out)
	return out.VisitorToken, raw
}

// The email that follows a visitor carries a signed link, never the
// visitor's token; the link's page does not show the token either, and
// exchanging the link gives the browser a working session of the visitor.
func TestForwardedEmailCarriesNoVisitorToken(t *testing.T) {
	e := forwardedEmail(t)
	decoded := decodedParts(t, e.mail)
	if !strings.Contains(decoded, "It left this morning.") || !strings.Contains(decoded, e.link) {
		t.Fatalf("the decoded email lacks the reply or the link %s:\n%s", e.link, decoded)
	}
	if strings.Contains(decoded, e.visitorToken) || strings.Contains(unfold(e.mail.Raw), e.visitorToken) {
		t.Fatalf("the forwarded email contains the visitor token:\n%s", decoded)
	}
	res, page := get(t, e.srv.URL+e.link, nil)
	if res.StatusCode != http.StatusOK || strings.Contains(string(page), e.visitorToken) || !strings.Contains(string(page), `data-continue="`) {
		t.Fatalf("chat link page: %d\n%s", res.StatusCode, page)
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("chat link page headers: %v", res.Header)
	}
	tok, _ := e.session(t, e.srv.Workspace.SiteKey, e.link, http.StatusOK)
	if tok != e.visitorToken {
		t.Fatalf("the exchanged session is not the visitor's")
	}
	var msgs struct {
		Messages []model.Message `json:"messages"`
	}
	e.srv.Do("GET", "/api/widget/v1/messages?visitor_token="+tok, "", nil, http.StatusOK, &msgs)
	if len(msgs.Messages) != 2 {
		t.Fatalf("the exchanged session reads %d messages, want 2", len(msgs.Messages))
	}
}

// Links Parley did not make, links whose time is over, links of another
// site and links replayed after the visitor's links were reset never open
// the conversation, and their pages say what happened (never a 500).
func TestContinueLinksRefused(t *testing.T) {
	e := forwardedEmail(t)
	srv := e.srv
	signer := srv.App.Chat.Signer()
	good := strings.TrimPrefix(e.link, "/chat/")
	flipped := []byte(good)
	flipped[30] = map[bool]byte{true: 'b', false: 'a'}[flipped[30] == 'a']
	now := time.Now()
	link := token.ContinueLink{WorkspaceID: srv.Workspace.ID, VisitorID: e.visitorID, ConversationID: e.convID, Expires: now.Add(-time.Second)}
	expired := signer.SignContinue(link)
	other, err := srv.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign := link
	foreign.WorkspaceID, foreign.Expires = other.ID, now.Add(time.Hour)
	forged := token.NewSigner([]byte("not this server's secret at all!")).SignContinue(token.ContinueLink{
		WorkspaceID: srv.Workspace.ID, VisitorID: e.visitorID, ConversationID: e.convID, Expires: now.Add(time.Hour)})
	cases := []struct {
		name     string
		tok      string
		status   int
		text     string
		exchange string // the error code of exchanging it
	}{
		{"tampered", string(flipped), http.StatusNotFound, "This chat link does not work", "invalid_token"},
		{"truncated", good[:len(good)-4], http.StatusNotFound, "This chat link does not work", "invalid_token"},
		{"forged with another secret", forged, http.StatusNotFound, "This chat link does not work", "invalid_token"},
		{"expired", expired, http.StatusGone, "This link has expired", "link_expired"},
		{"visitor of another workspace", signer.SignContinue(foreign), http.StatusNotFound, "This chat link does not work", "invalid_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, page := get(t, srv.URL+"/chat/"+tc.tok, nil)
			if res.StatusCode != tc.status || !strings.Contains(string(page), tc.text) || strings.Contains(string(page), e.visitorToken) {
				t.Fatalf("GET: %d, want %d with %q:\n%s", res.StatusCode, tc.status, tc.text, page)
			}
			if strings.Contains(string(page), "data-continue") {
				t.Errorf("the page of a refused link exchanges it")
			}
			if _, raw := e.session(t, srv.Workspace.SiteKey, tc.tok, http.StatusUnauthorized); apptest.ErrorCode(raw) != tc.exchange {
				t.Errorf("exchange: %s, want %s", raw, tc.exchange)
			}
		})
	}
	// The expired page offers a new chat on the workspace's widget.
	_, page := get(t, srv.URL+"/chat/"+expired, nil)
	if !strings.Contains(string(page), `data-site-key="`+srv.Workspace.SiteKey+`"`) || !strings.Contains(string(page), "Start a new chat") {
		t.Errorf("the expired page offers no new chat:\n%s", page)
	}
	// A valid link of this workspace, exchanged on another site: refused.
	if _, raw := e.session(t, other.SiteKey, e.link, http.StatusUnauthorized); apptest.ErrorCode(raw) != "invalid_token" {
		t.Errorf("exchange on another site: %s", raw)
	}
}

// Resetting the visitor's links ends the token and every link sent so far:
// the link replayed afterwards says it expired, the old token answers 401,
// and the next email carries a link that works.
func TestLinksReplayedAfterReset(t *testing.T) {
	e := forwardedEmail(t)
	srv := e.srv
	// An email of an earlier version carried /chat/VISITOR_TOKEN: while an
	// email went to the visitor within 30 days, it redirects to a continue
	// link, which takes the token out of the address bar.
	res, _ := get(t, srv.URL+"/chat/"+e.visitorToken, nil)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/chat/") || strings.Contains(loc, e.visitorToken) {
		t.Fatalf("legacy link: %d to %q", res.StatusCode, loc)
	}
	if _, err := srv.App.Chat.OpenContinueLink(t.Context(), strings.TrimPrefix(loc, "/chat/")); err != nil {
		t.Fatalf("the legacy link's redirect: %v", err)
	}

	srv.Do("POST", "/api/v1/visitors/"+e.visitorID+"/reset-links", e.agent.Token, nil, http.StatusNoContent, nil)
	for _, link := range []string{e.link, loc} {
		res, page := get(t, srv.URL+link, nil)
		if res.StatusCode != http.StatusGone || !strings.Contains(string(page), "This link has expired") {
			t.Errorf("%s replayed after the reset: %d\n%s", link, res.StatusCode, page)
		}
		if _, raw := e.session(t, srv.Workspace.SiteKey, link, http.StatusUnauthorized); apptest.ErrorCode(raw) != "link_expired" {
			t.Errorf("exchange after the reset: %s", raw)
		}
	}
	raw := srv.Do("GET", "/api/widget/v1/messages?visitor_token="+e.visitorToken, "", nil, http.StatusUnauthorized, nil)
	if apptest.ErrorCode(raw) != "invalid_token" {
		t.Errorf("old token: %s", raw)
	}
	if res, _ := get(t, srv.URL+"/chat/"+e.visitorToken, nil); res.StatusCode != http.StatusGone {
		t.Errorf("legacy link after the reset: %d, want 410", res.StatusCode)
	}
	// A session with the old token starts someone new, who sees nothing.
	var sess struct {
		VisitorToken   string  `json:"visitor_token"`
		ConversationID *string `json:"conversation_id"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey, "visitor_token": e.visitorToken}, http.StatusOK, &sess)
	if sess.ConversationID != nil {
		t.Fatal("the old token resumed the conversation after the reset")
	}

	// The next email carries a link of the new generation that works.
	srv.Do("POST", "/api/v1/conversations/"+e.convID+"/messages", e.agent.Token, map[string]string{"body": "And a tracking number: 42.", "kind": "reply"}, http.StatusCreated, nil)
	second := e.relay.Wait(t, 2, 60*time.Second)[1]
	found := chatLinkRE.FindStringSubmatch(unfold(second.Raw))
	if found == nil || "/chat/"+found[1] == e.link {
		t.Fatalf("the next email carries no new link:\n%s", second.Raw)
	}
	tok, _ := e.session(t, srv.Workspace.SiteKey, found[1], http.StatusOK)
	srv.Do("GET", "/api/widget/v1/messages?visitor_token="+tok, "", nil, http.StatusOK, nil)
	if tok == e.visitorToken {
		t.Error("the new link handed out the reset token")
	}

	// The reset is for the visitor's own workspace only.
	other, err := srv.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	bob := srv.AddAgent("bob@example.com", "Bob", other.ID)
	srv.Do("POST", "/api/v1/visitors/"+e.visitorID+"/reset-links", bob.Token, nil, http.StatusNotFound, nil)
	srv.Do("GET", "/api/widget/v1/messages?visitor_token="+tok, "", nil, http.StatusOK, nil)
}

// A visitor who never got an email has no link of an earlier version to
// honour: /chat/TOKEN answers that it expired.
func TestLegacyLinkWithoutEmail(t *testing.T) {
	srv := apptest.Start(t, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	res, page := get(t, srv.URL+"/chat/"+sess.VisitorToken, nil)
	if res.StatusCode != http.StatusGone || strings.Contains(string(page), sess.VisitorToken) {
		t.Fatalf("legacy link without an email: %d\n%s", res.StatusCode, page)
	}
}

// "Reset the visitor's links" in the dashboard's visitor panel ends the
// visitor's token.
func TestDashboardResetsVisitorLinks(t *testing.T) {
	srv := apptest.Start(t, nil)
	ann := srv.AddAgent("ann@example.com", "Ann")
	var sess struct {
		VisitorToken string        `json:"visitor_token"`
		Visitor      model.Visitor `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	srv.Do("PATCH", "/api/v1/visitors/"+sess.Visitor.ID, ann.Token, map[string]string{"email": "vera@example.org"}, http.StatusOK, nil)
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Hello"}, http.StatusCreated, &m)
	ws := srv.DialWidget(sess.VisitorToken)
	b := newBrowser(t, srv)
	b.login("ann@example.com")
	page := b.get("/dashboard/conversations/" + m.ConversationID).Body
	action := `action="/dashboard/visitors/` + sess.Visitor.ID + `/reset-links"`
	if !strings.Contains(page, action) || !strings.Contains(page, `data-testid="reset-links"`) {
		t.Fatalf("the visitor panel has no reset button:\n%s", page)
	}
	a := b.post("/dashboard/visitors/"+sess.Visitor.ID+"/reset-links", url.Values{"conversation": {m.ConversationID}})
	if a.Status != http.StatusSeeOther || !strings.Contains(a.Location, m.ConversationID) {
		t.Fatalf("reset: %d to %q", a.Status, a.Location)
	}
	if code := ws.CloseStatus(10 * time.Second); code != 1008 {
		t.Errorf("the widget closed with %d, want 1008", code)
	}
	srv.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, http.StatusUnauthorized, nil)
	// Without the form's CSRF token nothing happens.
	if a := b.post("/dashboard/visitors/"+sess.Visitor.ID+"/reset-links", url.Values{"csrf": {"forged"}}); a.Status == http.StatusSeeOther {
		t.Errorf("a reset without the CSRF token was accepted")
	}
}

var fileLinkRE = regexp.MustCompile(`https?://[^\s"<>]+(/files/[a-z2-7]+)`)

// The files of a forwarded reply are links that download them without
// logging in, for 30 days, signed like the conversation link.
func TestEmailedFileLinks(t *testing.T) {
	e := forwardedEmail(t)
	srv := e.srv
	png := pngBytes(t, 3, 2)
	status, raw, _ := upload(t, srv.URL, "/api/v1/conversations/"+e.convID+"/uploads", e.agent.Token, "receipt.png", png)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var att model.Attachment
	if err := json.Unmarshal(raw, &att); err != nil {
		t.Fatal(err)
	}
	srv.Do("POST", "/api/v1/conversations/"+e.convID+"/messages", e.agent.Token,
		map[string]any{"body": "Here is the receipt.", "kind": "reply", "attachment_ids": []string{att.ID}}, http.StatusCreated, nil)
	text := decodedParts(t, e.relay.Wait(t, 2, 60*time.Second)[1])
	found := fileLinkRE.FindStringSubmatch(text)
	if found == nil || !strings.Contains(text, "receipt.png") {
		t.Fatalf("the email lists no file link:\n%s", text)
	}
	res, body := get(t, srv.URL+found[1], nil)
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, png) || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("file link: %d %v (%d bytes)", res.StatusCode, res.Header, len(body))
	}
	signer := srv.App.Chat.Signer()
	for _, tc := range []struct {
		name   string
		link   string
		status int
	}{
		{"tampered", found[1][:len(found[1])-2], http.StatusNotFound},
		{"expired", "/files/" + signer.SignLink(token.File, time.Now().Add(-time.Second), srv.Workspace.ID, att.ID), http.StatusGone},
		{"another workspace", "/files/" + signer.SignLink(token.File, time.Now().Add(time.Hour), model.NewID(), att.ID), http.StatusNotFound},
		{"another purpose", "/files/" + signer.SignLink(token.Continue, time.Now().Add(time.Hour), srv.Workspace.ID, att.ID), http.StatusNotFound},
	} {
		res, body := get(t, srv.URL+tc.link, nil)
		if res.StatusCode != tc.status || bytes.Equal(body, png) || !strings.Contains(string(body), "<h1>") {
			t.Errorf("%s: %d, want %d with a page", tc.name, res.StatusCode, tc.status)
		}
	}
}

// The pages that run the widget on Parley's own origin (the demo, a chat
// link and its expired page) allow the widget's script, API, WebSocket and
// pictures from Parley's address, inline scripts only by the hash of those
// they carry, and no framing.
func TestWidgetPagesPolicy(t *testing.T) {
	srv := apptest.Start(t, nil)
	a := srv.AddAgent("ada@example.com", "Ada")
	var sess struct {
		VisitorToken string        `json:"visitor_token"`
		Visitor      model.Visitor `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	srv.Do("PATCH", "/api/v1/visitors/"+sess.Visitor.ID, a.Token, map[string]string{"email": "vera@example.org"}, http.StatusOK, nil)
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Hello"}, http.StatusCreated, &m)
	link := func(expires time.Time) string {
		return "/chat/" + srv.App.Chat.Signer().SignContinue(token.ContinueLink{WorkspaceID: srv.Workspace.ID, VisitorID: sess.Visitor.ID,
			ConversationID: m.ConversationID, Expires: expires})
	}
	origin := srv.URL
	ws := "ws" + strings.TrimPrefix(origin, "http")
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"demo", "/demo?site_key=" + srv.Workspace.SiteKey, http.StatusOK},
		{"chat link", link(time.Now().Add(time.Hour)), http.StatusOK},
		{"expired chat link", link(time.Now().Add(-time.Hour)), http.StatusGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, page := get(t, srv.URL+tc.path, nil)
			if res.StatusCode != tc.status || !strings.Contains(string(page), `<script src="`+origin+`/widget`) {
				t.Fatalf("%d, want %d with the widget:\n%s", res.StatusCode, tc.status, page)
			}
			csp := map[string][]string{}
			for _, d := range strings.Split(res.Header.Get("Content-Security-Policy"), ";") {
				if f := strings.Fields(d); len(f) > 0 {
					csp[f[0]] = f[1:]
				}
			}
			script := []string{origin}
			for _, s := range inline.FindAllSubmatch(page, -1) {
				sum := sha256.Sum256(s[1])
				script = append(script, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
			}
			if tc.status == http.StatusGone && len(script) != 2 {
				t.Errorf("the expired page's button has no script of its own:\n%s", page)
			}
			want := map[string][]string{
				"default-src": {"'none'"}, "script-src": script, "connect-src": {origin, ws}, "img-src": {origin},
				"style-src": {"'unsafe-inline'"}, "base-uri": {"'none'"}, "form-action": {"'none'"}, "frame-ancestors": {"'none'"},
			}
			for d, w := range want {
				if !slices.Equal(csp[d], w) {
					t.Errorf("%s %q, want %q (%s)", d, csp[d], w, res.Header.Get("Content-Security-Policy"))
				}
			}
			if len(csp) != len(want) {
				t.Errorf("policy %q, want only %v", res.Header.Get("Content-Security-Policy"), want)
			}
			if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q", got)
			}
			if strings.Contains(string(page), " onclick=") {
				t.Error("the page has an inline event handler, which its policy refuses")
			}
		})
	}
}
