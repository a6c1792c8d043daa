package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

const testPassword = "correct horse battery" // apptest.AddAgent's password

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so tests see the dashboard's answers as they are.
type browser struct {
	t    *testing.T
	srv  *apptest.Server
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, srv *apptest.Server) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) answer {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Body: string(raw), Header: resp.Header, Location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	a := b.do("GET", path, nil, nil)
	if m := csrfField.FindStringSubmatch(a.Body); m != nil {
		b.csrf = m[1]
	}
	return a
}

// post sends a form with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form, nil)
}

var csrfField = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (b *browser) login(email string) {
	b.t.Helper()
	a := b.do("POST", "/dashboard/login", url.Values{"email": {email}, "password": {testPassword}}, nil)
	if a.Status != http.StatusSeeOther || a.Location != "/dashboard" {
		b.t.Fatalf("login: status %d location %q; body %s", a.Status, a.Location, a.Body)
	}
	if a := b.get("/dashboard"); a.Status != http.StatusOK || b.csrf == "" {
		b.t.Fatalf("dashboard after login: status %d, csrf %q", a.Status, b.csrf)
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not contain %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

// setup starts Parley with an agent logged in to the dashboard.
func setup(t *testing.T) (*apptest.Server, apptest.Agent, *browser) {
	t.Helper()
	srv := apptest.Start(t, nil)
	a := srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	b.login("ada@example.com")
	return srv, a, b
}

type visitorConv struct {
	VisitorID, ConversationID, Token string
}

// newConversation makes a website visitor (with a name and an email, so no
// contact form is in the way) who writes body.
func newConversation(t testing.TB, srv *apptest.Server, siteKey, name, body string) visitorConv {
	t.Helper()
	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, http.StatusOK, &sess)
	if _, err := srv.App.Chat.VisitorContact(context.Background(), sess.Visitor.ID, "visitor@example.com", name); err != nil {
		t.Fatal(err)
	}
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": body, "client_id": "c1"}, http.StatusCreated, &m)
	return visitorConv{VisitorID: sess.Visitor.ID, ConversationID: m.ConversationID, Token: sess.VisitorToken}
}

func countMessages(t *testing.T, srv *apptest.Server, convID string) int {
	t.Helper()
	var n int
	if err := srv.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM messages WHERE conversation_id = ?`, convID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDashboardLogin(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada")

	tests := []struct {
		name, email, password, origin string
		status                        int
		wantBody                      string
		wantCookie                    bool
	}{
		{"success", "ada@example.com", testPassword, "", http.StatusSeeOther, "", true},
		{"success with same origin", "ADA@example.com", testPassword, srv.URL, http.StatusSeeOther, "", true},
		{"wrong password", "ada@example.com", "not the password", "", http.StatusUnauthorized, "Wrong email or password", false},
		{"unknown email", "nobody@example.com", testPassword, "", http.StatusUnauthorized, "Wrong email or password", false},
		{"foreign origin", "ada@example.com", testPassword, "https://evil.example", http.StatusForbidden, "another site", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, srv)
			h := map[string]string{}
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			a := b.do("POST", "/dashboard/login", url.Values{"email": {tc.email}, "password": {tc.password}}, h)
			if a.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.Status, tc.status, a.Body)
			}
			mustContain(t, "answer", a.Body, tc.wantBody)
			var session *http.Cookie
			for _, c := range (&http.Response{Header: a.Header}).Cookies() {
				if c.Name == "parley_session" {
					session = c
				}
			}
			if !tc.wantCookie {
				if session != nil && session.Value != "" {
					t.Errorf("session cookie set on a refused login")
				}
				if a := b.get("/dashboard"); a.Status != http.StatusSeeOther || a.Location != "/dashboard/login" {
					t.Errorf("dashboard without login: status %d location %q, want a redirect to the login page", a.Status, a.Location)
				}
				return
			}
			if a.Location != "/dashboard" {
				t.Errorf("redirect to %q, want /dashboard", a.Location)
			}
			if session == nil || session.Value == "" {
				t.Fatal("no parley_session cookie")
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure on http", session)
			}
			var me model.Agent
			srv.Do("GET", "/api/v1/me", session.Value, nil, http.StatusOK, &me)
			if me.Status != model.StatusOnline {
				t.Errorf("agent status after login %q, want online", me.Status)
			}
			if p := b.get("/dashboard"); p.Status != http.StatusOK {
				t.Errorf("dashboard after login: status %d", p.Status)
			}
		})
	}
}

// A link to a page of the dashboard, opened without a session, comes
// back to that page after the login, also after a wrong password; a link
// to the login page naming another site goes to the dashboard.
func TestDashboardLoginReturnsToTheLink(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada")
	const link = "/dashboard/conversations/c1?view=all"
	b := newBrowser(t, srv)
	a := b.get(link)
	want := "/dashboard/login?next=" + url.QueryEscape(link)
	if a.Status != http.StatusSeeOther || a.Location != want {
		t.Fatalf("link without a session: %d to %q, want %d to %q", a.Status, a.Location, http.StatusSeeOther, want)
	}
	a = b.get(a.Location)
	mustContain(t, "login page", a.Body, `<input type="hidden" name="next" value="`+html.EscapeString(link)+`">`)
	if strings.Contains(a.Body, "login-ended") {
		t.Error("a first login says a session ended")
	}
	a = b.do("POST", "/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong"}, "next": {link}}, nil)
	mustContain(t, "the login refused", a.Body, "Wrong email or password", `name="next" value="`+html.EscapeString(link)+`"`)
	a = b.do("POST", "/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {link}}, nil)
	if a.Status != http.StatusSeeOther || a.Location != link {
		t.Errorf("login: %d to %q, want %d to %q", a.Status, a.Location, http.StatusSeeOther, link)
	}
	// Logged in, the login page with a next goes there at once.
	if a := b.get("/dashboard/login?next=" + url.QueryEscape("/dashboard/settings")); a.Status != http.StatusSeeOther || a.Location != "/dashboard/settings" {
		t.Errorf("login page with a session: %d to %q, want /dashboard/settings", a.Status, a.Location)
	}
	// The session ends (expiry, a logout elsewhere): the link leads to a
	// login that says so, and back to the link.
	if _, err := srv.App.DB.SQL.Exec(`DELETE FROM agent_tokens`); err != nil {
		t.Fatal(err)
	}
	srv.App.Chat.ForgetTokens()
	if a = b.get(link); a.Status != http.StatusSeeOther || a.Location != want+"&ended=1" {
		t.Fatalf("link after the session ended: %d to %q, want %q", a.Status, a.Location, want+"&ended=1")
	}
	mustContain(t, "the login after the session ended", b.get(a.Location).Body, `data-testid="login-ended"`, "or an admin removed your account", `name="next" value="`+html.EscapeString(link)+`"`)

	c := newBrowser(t, srv)
	a = c.get("/dashboard/login?next=" + url.QueryEscape("//evil.example/dashboard/x"))
	if strings.Contains(a.Body, `name="next"`) {
		t.Errorf("the login page kept a next of another site: %s", a.Body)
	}
	a = c.do("POST", "/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"https://evil.example/"}}, nil)
	if a.Status != http.StatusSeeOther || a.Location != "/dashboard" {
		t.Errorf("login with a next of another site: %d to %q, want /dashboard", a.Status, a.Location)
	}
}

func TestDashboardLoginRateLimit(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	var last answer
	for i := 0; i < 8; i++ {
		last = b.do("POST", "/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}}, nil)
		if last.Status == http.StatusTooManyRequests {
			break
		}
		if last.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, last.Status)
		}
	}
	if last.Status != http.StatusTooManyRequests {
		t.Fatalf("no 429 after 8 wrong passwords (last status %d)", last.Status)
	}
	mustContain(t, "rate limited login page", last.Body, "Too many login attempts", `name="email"`)
}

func TestDashboardRequiresLogin(t *testing.T) {
	srv := apptest.Start(t, nil)
	b := newBrowser(t, srv)
	for p, want := range map[string]string{
		"/dashboard":                 "/dashboard/login",
		"/dashboard/settings":        "/dashboard/login?next=%2Fdashboard%2Fsettings",
		"/dashboard/conversations/x": "/dashboard/login?next=%2Fdashboard%2Fconversations%2Fx",
		"/dashboard/no-such-page":    "/dashboard/login?next=%2Fdashboard%2Fno-such-page",
	} {
		if a := b.get(p); a.Status != http.StatusSeeOther || a.Location != want {
			t.Errorf("GET %s: status %d location %q, want 303 to %s", p, a.Status, a.Location, want)
		}
	}
	if a := b.get("/dashboard/partials/list"); a.Status != http.StatusUnauthorized {
		t.Errorf("list partial without login: status %d, want 401", a.Status)
	}
	if a := b.get("/"); a.Status != http.StatusFound || a.Location != "/dashboard" {
		t.Errorf("GET /: status %d location %q", a.Status, a.Location)
	}
	if a := b.get("/no-such-page"); a.Status != http.StatusNotFound {
		t.Errorf("GET /no-such-page: status %d, want 404", a.Status)
	}
	a := b.get("/dashboard/login")
	if a.Status != http.StatusOK {
		t.Fatalf("login page: status %d", a.Status)
	}
	if got := a.Header.Get("Content-Security-Policy"); got != "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'" {
		t.Errorf("CSP %q", got)
	}
}

func TestDashboardCSRF(t *testing.T) {
	srv, _, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hello")
	path := "/dashboard/conversations/" + vc.ConversationID + "/messages"

	tests := []struct {
		name   string
		csrf   *string
		origin string
		status int
		stored int
	}{
		{"missing token", nil, "", http.StatusForbidden, 0},
		{"wrong token", ptr("0123456789abcdef0123456789abcdef"), "", http.StatusForbidden, 0},
		{"foreign origin", ptr(b.csrf), "https://evil.example", http.StatusForbidden, 0},
		{"right token", ptr(b.csrf), srv.URL, http.StatusSeeOther, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countMessages(t, srv, vc.ConversationID)
			form := url.Values{"body": {"a reply " + tc.name}, "kind": {"reply"}}
			if tc.csrf != nil {
				form.Set("csrf", *tc.csrf)
			}
			h := map[string]string{}
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			a := b.do("POST", path, form, h)
			if a.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.Status, tc.status, a.Body)
			}
			if got := countMessages(t, srv, vc.ConversationID) - before; got != tc.stored {
				t.Errorf("%d messages stored, want %d", got, tc.stored)
			}
		})
	}

	// The other forms are guarded the same way.
	for _, p := range []string{"/dashboard/status", "/dashboard/settings", "/dashboard/visitors/" + vc.VisitorID, "/dashboard/logout"} {
		form := url.Values{"status": {"offline"}, "email_forwarding": {"off"}, "email": {"x@example.com"}}
		if a := b.do("POST", p, form, nil); a.Status != http.StatusForbidden {
			t.Errorf("POST %s without token: status %d, want 403", p, a.Status)
		}
	}
	st, err := srv.App.Chat.Settings(context.Background(), srv.Workspace.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.EmailForwarding != model.ForwardUnread {
		t.Errorf("settings changed by a forged form: %+v", st)
	}
	if a := b.get("/dashboard"); a.Status != http.StatusOK {
		t.Errorf("session ended by a forged logout: status %d", a.Status)
	}
}

func ptr(s string) *string { return &s }

func TestDashboardEscapesUserText(t *testing.T) {
	srv, agent, b := setup(t)
	const name = `<script>alert(1)</script>`
	const body = `<b>bold</b> <img src=x onerror=alert(2)> & "quotes"`
	vc := newConversation(t, srv, srv.Workspace.SiteKey, name, body)
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", agent.Token,
		map[string]string{"body": `<i>agent</i> see https://example.com/a?b=1&c=<x>`, "kind": "reply"}, http.StatusCreated, nil)

	escName := html.EscapeString(name)
	pages := map[string]string{
		"list":                 "/dashboard",
		"list partial":         "/dashboard/partials/list",
		"conversation":         "/dashboard/conversations/" + vc.ConversationID,
		"conversation partial": "/dashboard/partials/conversation/" + vc.ConversationID,
	}
	for what, p := range pages {
		a := b.get(p)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: status %d", what, a.Status)
		}
		mustContain(t, what, a.Body, escName)
		mustNotContain(t, what, a.Body, name, "<b>bold", "<img src=x", "<i>agent")
	}
	conv := b.get(pages["conversation"]).Body
	mustContain(t, "conversation", conv,
		"&lt;b&gt;bold&lt;/b&gt; &lt;img src=x onerror=alert(2)&gt; &amp; &#34;quotes&#34;",
		`<a href="https://example.com/a?b=1&amp;c=" target="_blank" rel="noopener noreferrer nofollow">`)
}

func TestDashboardConversationView(t *testing.T) {
	srv, agent, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "Do you ship to Norway?")

	list := b.get("/dashboard").Body
	mustContain(t, "list", list, `data-testid="conversation-item" data-id="`+vc.ConversationID+`"`, `data-testid="unread"`, "Vera", "Do you ship to Norway?")

	api := "/api/v1/conversations/" + vc.ConversationID + "/messages"
	srv.Do("POST", api, agent.Token, map[string]string{"body": "Only between us", "kind": "comment"}, http.StatusCreated, nil)
	a := b.get("/dashboard/conversations/" + vc.ConversationID)
	if a.Status != http.StatusOK {
		t.Fatalf("conversation: status %d", a.Status)
	}
	mustContain(t, "conversation", a.Body,
		`class="msg msg-visitor" data-testid="message"`, `data-kind="reply" data-author-kind="visitor"`,
		`class="msg msg-comment" data-testid="message"`, `data-kind="comment" data-author-kind="agent"`,
		"Internal note", "Only between us",
		`data-testid="reply-body"`, `data-testid="send-reply"`, `data-testid="send-comment"`,
		`data-testid="visitor-email"`, `value="visitor@example.com"`, `data-testid="save-visitor"`, `data-testid="visitor-presence"`,
		`<meta name="csrf-token" content="`+b.csrf+`">`)
	// The page shows its own conversation read, but loading it does not
	// record that (a tab nobody looks at is not reading); the page's
	// script does once the page is visible, through the API.
	if strings.Contains(a.Body, `data-testid="unread"`) {
		t.Error("unread marker shown on the open conversation")
	}
	if !strings.Contains(b.get("/dashboard").Body, `data-testid="unread"`) {
		t.Error("loading the conversation's page recorded it as seen")
	}
	if r := b.do("POST", "/api/v1/conversations/"+vc.ConversationID+"/read", nil, map[string]string{"X-CSRF-Token": b.csrf}); r.Status != http.StatusOK {
		t.Fatalf("read: status %d", r.Status)
	}
	if strings.Contains(b.get("/dashboard").Body, `data-testid="unread"`) {
		t.Error("unread marker still shown after the conversation was read")
	}

	// A reply and a note through the dashboard's own form.
	for _, kind := range []string{"reply", "comment"} {
		r := b.post("/dashboard/conversations/"+vc.ConversationID+"/messages", url.Values{"body": {"line one\r\nline two " + kind}, "kind": {kind}})
		if r.Status != http.StatusSeeOther || r.Location != "/dashboard/conversations/"+vc.ConversationID {
			t.Fatalf("post %s: status %d location %q body %s", kind, r.Status, r.Location, r.Body)
		}
	}
	var msgs struct{ Messages []model.Message }
	srv.Do("GET", api, agent.Token, nil, http.StatusOK, &msgs)
	if n := len(msgs.Messages); n != 4 {
		t.Fatalf("%d messages, want 4", n)
	}
	if m := msgs.Messages[2]; m.Kind != "reply" || m.Body != "line one\nline two reply" || m.Author.Kind != "agent" {
		t.Errorf("reply stored as %+v", m)
	}
	if m := msgs.Messages[3]; m.Kind != "comment" {
		t.Errorf("note stored as %+v", m)
	}

	// An empty reply is refused with the form shown again.
	r := b.post("/dashboard/conversations/"+vc.ConversationID+"/messages", url.Values{"body": {"  "}, "kind": {"reply"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("empty reply: status %d", r.Status)
	}
	mustContain(t, "refused reply", r.Body, `data-testid="reply-error"`)

	// "Send reply" with "Writing a note" ticked sends nothing and keeps the
	// text; the note button adds it.
	secret := "Known chargeback abuser, do not refund"
	r = b.post("/dashboard/conversations/"+vc.ConversationID+"/messages", url.Values{"body": {secret}, "kind": {"reply"}, "note_mode": {"1"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("a reply while writing a note: status %d", r.Status)
	}
	mustContain(t, "a reply while writing a note", r.Body, `data-testid="reply-error"`, "“Writing a note” is ticked: nothing was sent.", ">"+secret+"</textarea>")
	srv.Do("GET", api, agent.Token, nil, http.StatusOK, &msgs)
	if n := len(msgs.Messages); n != 4 {
		t.Fatalf("%d messages after a reply refused, want 4", n)
	}
	if r := b.post("/dashboard/conversations/"+vc.ConversationID+"/messages", url.Values{"body": {secret}, "kind": {"comment"}, "note_mode": {"1"}}); r.Status != http.StatusSeeOther {
		t.Errorf("a note while writing a note: status %d", r.Status)
	}

	// A canned reply's variable left in a reply does not reach the visitor.
	r = b.post("/dashboard/conversations/"+vc.ConversationID+"/messages", url.Values{"body": {"Hi {{ visitor.first_name }}!"}, "kind": {"reply"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("a reply with a variable: status %d", r.Status)
	}
	mustContain(t, "a reply with a variable", r.Body, "{{ visitor.first_name }} was not filled in")
	raw := srv.Do("POST", api, agent.Token, map[string]string{"body": "Dear {{visitor.name}}"}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != "invalid_variable" {
		t.Errorf("a reply with a variable over the API: %s", raw)
	}

	// Close and reopen.
	if r := b.post("/dashboard/conversations/"+vc.ConversationID+"/close", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("close: status %d", r.Status)
	}
	mustContain(t, "closed list", b.get("/dashboard?status=closed").Body, vc.ConversationID)
	mustNotContain(t, "open list", b.get("/dashboard").Body, vc.ConversationID)
	if r := b.post("/dashboard/conversations/"+vc.ConversationID+"/reopen", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("reopen: status %d", r.Status)
	}
	mustContain(t, "open list", b.get("/dashboard").Body, vc.ConversationID)
}

func TestDashboardVisitorPanel(t *testing.T) {
	srv, _, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hi")
	b.get("/dashboard/conversations/" + vc.ConversationID)
	path := "/dashboard/visitors/" + vc.VisitorID

	tests := []struct {
		name, email string
		status      int
		wantBody    string
		wantEmail   string
	}{
		{"invalid email", "not an address", http.StatusBadRequest, "That email address does not look right", "visitor@example.com"},
		{"valid email", "vera@Example.COM", http.StatusSeeOther, "", "vera@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := b.post(path, url.Values{"email": {tc.email}, "name": {"Vera V"}, "conversation": {vc.ConversationID}})
			if a.Status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.Status, tc.status, a.Body)
			}
			mustContain(t, "answer", a.Body, tc.wantBody)
			if tc.status == http.StatusBadRequest {
				mustContain(t, "answer", a.Body, `value="`+tc.email+`"`, `data-testid="visitor-error"`)
			}
			v, err := srv.App.Chat.VisitorByToken(context.Background(), vc.Token)
			if err != nil {
				t.Fatal(err)
			}
			if v.Email == nil || *v.Email != tc.wantEmail {
				t.Errorf("email %v, want %q", v.Email, tc.wantEmail)
			}
		})
	}
	page := b.get("/dashboard/conversations/" + vc.ConversationID).Body
	mustContain(t, "conversation", page, "Vera V", "Offline", "Email status")
	// The visitor's times are machine-readable, for the browser to show in
	// the agent's own time zone.
	if !regexp.MustCompile(`Last active <time datetime="\d{4}-\d\d-\d\dT[^"]+Z"`).MatchString(page) {
		t.Errorf("last activity is not a <time datetime> element:\n%s", page)
	}
}

func TestDashboardOtherWorkspace(t *testing.T) {
	srv, _, b := setup(t)
	other, err := srv.App.Chat.CreateWorkspace(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	vc := newConversation(t, srv, other.SiteKey, "Olga", "secret question")

	for _, p := range []string{"/dashboard/conversations/" + vc.ConversationID, "/dashboard/partials/conversation/" + vc.ConversationID} {
		a := b.get(p)
		if a.Status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, a.Status)
		}
		mustNotContain(t, p, a.Body, "secret question", "Olga")
	}
	mustNotContain(t, "list", b.get("/dashboard?status=all").Body, vc.ConversationID, "Olga")
	b.get("/dashboard")
	if a := b.post("/dashboard/conversations/"+vc.ConversationID+"/messages", url.Values{"body": {"hi"}, "kind": {"reply"}}); a.Status != http.StatusNotFound {
		t.Errorf("reply to another workspace: status %d, want 404", a.Status)
	}
	if a := b.post("/dashboard/visitors/"+vc.VisitorID, url.Values{"email": {"x@example.com"}, "conversation": {vc.ConversationID}}); a.Status != http.StatusNotFound {
		t.Errorf("edit another workspace's visitor: status %d, want 404", a.Status)
	}
	if n := countMessages(t, srv, vc.ConversationID); n != 1 {
		t.Errorf("%d messages in the other workspace's conversation, want 1", n)
	}
}

func TestDashboardSettings(t *testing.T) {
	srv, agent, b := setup(t)
	a := b.get("/dashboard/settings")
	if a.Status != http.StatusOK {
		t.Fatalf("settings: status %d", a.Status)
	}
	mustContain(t, "settings", a.Body,
		`<legend>Email forwarding</legend>`,
		`value="off"> Do not send anything`,
		`value="unread" checked> Email unread replies to visitors (recommended)`,
		`value="transcript"> Email full conversation transcripts to visitors`,
		`only replies written while a sending mode is on wait to be emailed`,
		`value="1" checked> When every agent is offline: Get offline messages only once the contact form is filled`,
		`<option value="optional" selected>Optional</option>`,
		html.EscapeString(`<script src="`+srv.URL+`/widget.js" data-site-key="`+srv.Workspace.SiteKey+`" async></script>`),
		`href="/demo?site_key=`+srv.Workspace.SiteKey+`"`)

	steps := []struct {
		name string
		form url.Values
		want model.Settings
	}{
		{"preferences", url.Values{"email_forwarding": {"transcript"}, "section": {"preferences"}},
			model.Settings{WorkspaceName: "Default", TimeZone: "UTC", EmailForwarding: "transcript", ContactForm: model.ContactForm{OfflineRequiresForm: true, Online: "optional"}, TypingPreview: true}},
		{"contact form unchecked", url.Values{"offline_requires_form": {"0"}, "online": {"required"}, "section": {"somewhere else"}},
			model.Settings{WorkspaceName: "Default", TimeZone: "UTC", EmailForwarding: "transcript", ContactForm: model.ContactForm{OfflineRequiresForm: false, Online: "required"}, TypingPreview: true}},
		{"contact form checked", url.Values{"offline_requires_form": {"0", "1"}, "online": {"off"}},
			model.Settings{WorkspaceName: "Default", TimeZone: "UTC", EmailForwarding: "transcript", ContactForm: model.ContactForm{OfflineRequiresForm: true, Online: "off"}, TypingPreview: true}},
		{"typing previews off", url.Values{"typing_preview": {"0"}},
			model.Settings{WorkspaceName: "Default", TimeZone: "UTC", EmailForwarding: "transcript", ContactForm: model.ContactForm{OfflineRequiresForm: true, Online: "off"}, TypingPreview: false}},
		{"automatic assignment on", url.Values{"auto_assign": {"0", "1"}, "section": {"assignment"}},
			model.Settings{WorkspaceName: "Default", TimeZone: "UTC", EmailForwarding: "transcript", ContactForm: model.ContactForm{OfflineRequiresForm: true, Online: "off"}, AutoAssign: true}},
		{"assignment limit", url.Values{"auto_assign": {"0", "1"}, "auto_assign_limit": {" 3 "}, "section": {"assignment"}},
			model.Settings{WorkspaceName: "Default", TimeZone: "UTC", EmailForwarding: "transcript", ContactForm: model.ContactForm{OfflineRequiresForm: true, Online: "off"}, AutoAssign: true, AutoAssignLimit: 3}},
	}
	for _, st := range steps {
		// The widget part of Settings keeps its defaults through these forms.
		st.want.Widget, st.want.DefaultLocale = model.DefaultSettings().Widget, "en"
		t.Run(st.name, func(t *testing.T) {
			r := b.post("/dashboard/settings", st.form)
			// Back where the form was, when it names a part of the page.
			want := "/dashboard/settings?saved=1"
			if sec := st.form.Get("section"); sec == "preferences" || sec == "assignment" {
				want += "#" + sec
			}
			if r.Status != http.StatusSeeOther || r.Location != want {
				t.Fatalf("status %d to %q, want %d to %q; body %s", r.Status, r.Location, http.StatusSeeOther, want, r.Body)
			}
			var got model.Settings
			srv.Do("GET", "/api/v1/settings", agent.Token, nil, http.StatusOK, &got)
			if got != st.want {
				t.Errorf("settings %+v, want %+v", got, st.want)
			}
		})
	}
	page := b.get("/dashboard/settings?saved=1").Body
	mustContain(t, "saved settings", page, `value="transcript" checked>`, `value="1" checked>`, `<option value="off" selected>Off</option>`, "Settings saved.",
		`name="auto_assign" value="1" checked data-testid="auto-assign"`, `name="auto_assign_limit" min="0" max="1000" step="1" value="3"`)
	for _, bad := range []string{"x", "-2", "1001", ""} {
		r := b.post("/dashboard/settings", url.Values{"section": {"assignment"}, "auto_assign": {"0", "1"}, "auto_assign_limit": {bad}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("limit %q: status %d, want 400", bad, r.Status)
		}
		mustContain(t, "refused limit", r.Body, `data-testid="settings-error"`, "auto_assign_limit is 0 (no limit) or a number of open conversations up to 1000")
	}
	// An emptied retention field is refused too, not read as "keep for ever".
	if r := b.post("/dashboard/settings", url.Values{"section": {"privacy"}, "retention_days": {" "}}); r.Status != http.StatusBadRequest {
		t.Errorf("empty retention: status %d, want 400", r.Status)
	}

	r := b.post("/dashboard/settings", url.Values{"email_forwarding": {"sometimes"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("bad mode: status %d, want 400", r.Status)
	}
	mustContain(t, "refused settings", r.Body, `data-testid="settings-error"`)

	// A refused form shows what was typed in it again, and names its field
	// as the page does.
	r = b.post("/dashboard/settings", url.Values{"section": {"workspace"}, "workspace_name": {"Kettle & Co"}, "time_zone": {"Europe/Pariss"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("bad time zone: status %d, want 400", r.Status)
	}
	mustContain(t, "refused time zone", r.Body, `value="Kettle &amp; Co"`, `value="Europe/Pariss"`,
		"Not saved: the time zone is an IANA time zone name such as Europe/Paris or UTC.")
	if strings.Contains(r.Body, "Time_zone") {
		t.Error("the refusal names the API's field")
	}
	var kept model.Settings
	srv.Do("GET", "/api/v1/settings", agent.Token, nil, http.StatusOK, &kept)
	if kept.WorkspaceName != "Default" || kept.TimeZone != "UTC" {
		t.Errorf("a refused form saved %q, %q", kept.WorkspaceName, kept.TimeZone)
	}
}

func TestDashboardStatusSwitch(t *testing.T) {
	srv, agent, b := setup(t)
	mustContain(t, "header", b.get("/dashboard").Body, `<option value="online" selected>Online</option>`)
	for _, st := range []string{"invisible", "offline", "online"} {
		r := b.post("/dashboard/status", url.Values{"status": {st}, "next": {"/dashboard/settings"}})
		if r.Status != http.StatusSeeOther || r.Location != "/dashboard/settings" {
			t.Fatalf("status %s: %d %q", st, r.Status, r.Location)
		}
		var me model.Agent
		srv.Do("GET", "/api/v1/me", agent.Token, nil, http.StatusOK, &me)
		if me.Status != st {
			t.Errorf("status %q, want %q", me.Status, st)
		}
		mustContain(t, "header", b.get("/dashboard/settings").Body, `<option value="`+st+`" selected>`)
	}
	if r := b.post("/dashboard/status", url.Values{"status": {"online"}, "next": {"https://evil.example/"}}); r.Location != "/dashboard" {
		t.Errorf("open redirect to %q", r.Location)
	}
	if r := b.post("/dashboard/status", url.Values{"status": {"asleep"}}); r.Status != http.StatusBadRequest {
		t.Errorf("unknown status: %d, want 400", r.Status)
	}
}

func TestDashboardForwardedMarker(t *testing.T) {
	srv, agent, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hi")
	var reply model.Message
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", agent.Token,
		map[string]string{"body": "Here is the answer", "kind": "reply"}, http.StatusCreated, &reply)

	page := b.get("/dashboard/conversations/" + vc.ConversationID).Body
	mustNotContain(t, "page before forwarding", page, `data-testid="forwarded"`)

	if _, err := srv.App.DB.SQL.Exec(`UPDATE messages SET forwarded_to = ?, forwarded_at = ?, forwarded_status = 'sent' WHERE id = ?`,
		"vera@example.com", time.Now().UnixMicro(), reply.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dashboard/conversations/" + vc.ConversationID, "/dashboard/partials/conversation/" + vc.ConversationID} {
		mustContain(t, p, b.get(p).Body,
			`<span class="msg-author" data-testid="author">Ada</span> <span class="forwarded" data-testid="forwarded" data-status="sent" title="Emailed to vera@example.com">(forwarded to vera@example.com)</span>`,
			`data-testid="forwarded-status">sent</span>`)
	}
}

func TestDashboardStatic(t *testing.T) {
	srv, _, b := setup(t)
	page := b.get("/dashboard").Body
	for _, tc := range []struct{ re, ctype string }{
		{`src="(/dashboard/static/dashboard\.js\?v=[0-9a-f]+)"`, "text/javascript; charset=utf-8"},
		{`href="(/dashboard/static/dashboard\.css\?v=[0-9a-f]+)"`, "text/css; charset=utf-8"},
	} {
		m := regexp.MustCompile(tc.re).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("page links no asset matching %s", tc.re)
		}
		a := newBrowser(t, srv).get(m[1])
		if a.Status != http.StatusOK || a.Header.Get("Content-Type") != tc.ctype || len(a.Body) == 0 {
			t.Errorf("%s: status %d type %q", m[1], a.Status, a.Header.Get("Content-Type"))
		}
		if !strings.Contains(a.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q", m[1], a.Header.Get("Cache-Control"))
		}
	}
	mustNotContain(t, "page", page, "<script>", "style=")
}

func TestDashboardLogout(t *testing.T) {
	_, _, b := setup(t)
	r := b.post("/dashboard/logout", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/dashboard/login" {
		t.Fatalf("logout: %d %q", r.Status, r.Location)
	}
	if a := b.get("/dashboard"); a.Status != http.StatusSeeOther {
		t.Errorf("dashboard after logout: status %d", a.Status)
	}
}

func TestDashboardShowsForwardingDecision(t *testing.T) {
	srv, agent, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hi")
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", agent.Token,
		map[string]string{"body": "Here is the answer", "kind": "reply"}, http.StatusCreated, nil)
	apptest.Eventually(t, 5*time.Second, "the decision in the conversation view", func() bool {
		page := b.get("/dashboard/conversations/" + vc.ConversationID).Body
		return strings.Contains(page, `data-testid="forwarding-decision">Email forwarding: waiting until `) &&
			strings.Contains(page, `data-testid="forwarding-zone">(`+srv.Workspace.TimeZone+` time)</span>`)
	})
	other := newConversation(t, srv, srv.Workspace.SiteKey, "Otto", "hello")
	if _, err := srv.App.DB.SQL.Exec(`UPDATE visitors SET email = NULL WHERE id = ?`, other.VisitorID); err != nil {
		t.Fatal(err)
	}
	srv.Do("POST", "/api/v1/conversations/"+other.ConversationID+"/messages", agent.Token,
		map[string]string{"body": "Anyone?", "kind": "reply"}, http.StatusCreated, nil)
	apptest.Eventually(t, 5*time.Second, "the reason no email goes", func() bool {
		page := b.get("/dashboard/partials/conversation/" + other.ConversationID).Body
		return strings.Contains(page, "not sent: visitor not identified") && !strings.Contains(page, "forwarding-zone")
	})
}

func TestDashboardSettingsPreviewsEachMode(t *testing.T) {
	_, _, b := setup(t)
	page := b.get("/dashboard/settings").Body
	mustContain(t, "settings", page,
		"Preview: Email unread replies to visitors (recommended)",
		"Preview: Email full conversation transcripts to visitors",
		"Subject: Your conversation with Default",
		"Reply to this email to continue the conversation.")
	if n := strings.Count(page, `data-testid="email-preview"`); n != 2 {
		t.Fatalf("%d previews, want one per sending mode", n)
	}
}

// The visitor panel says why an address gets no email: the status belongs
// to the address, so another visitor record's unsubscribe shows here too.
func TestDashboardEmailStatusNote(t *testing.T) {
	srv, _, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hi")
	page := b.get("/dashboard/conversations/" + vc.ConversationID).Body
	mustNotContain(t, "page of an ok address", page, `data-testid="email-status-note"`)

	other := newConversation(t, srv, srv.Workspace.SiteKey, "Vera again", "hello")
	if _, err := srv.App.DB.StopEmailAddress(context.Background(), srv.Workspace.ID, "VISITOR@example.com",
		model.EmailBouncing, model.EmailStatusByBounce, "5.1.1 <b>no such user</b>", time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for _, conv := range []string{vc.ConversationID, other.ConversationID} {
		mustContain(t, "page", b.get("/dashboard/conversations/"+conv).Body,
			`data-testid="email-status">bouncing<`,
			`Emails to this address bounced (5.1.1 &lt;b&gt;no such user&lt;/b&gt;) on 4 Mar 2026`,
			"until the visitor ticks the opt-in box")
	}
}

// Settings → Email shows the DKIM record to publish, the SPF and DMARC
// records to check, what is wrong with the configuration, and a warning
// while the workspace is still named "Default".
func TestDashboardSettingsEmail(t *testing.T) {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ed)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{
		"PARLEY_SMTP_URL":      relay.URL,
		"PARLEY_MAIL_FROM":     "chat@shop.example.com",
		"PARLEY_DKIM_KEY_FILE": keyFile,
		"PARLEY_DKIM_SELECTOR": "parley1",
		"PARLEY_DKIM_DOMAIN":   "mailer.example.net",
	})
	srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	b.login("ada@example.com")
	page := b.get("/dashboard/settings").Body
	pub := base64.StdEncoding.EncodeToString(ed.Public().(ed25519.PublicKey))
	mustContain(t, "settings", page,
		`data-testid="default-name-warning"`, "still named “Default”",
		`data-testid="email-dns-warning"`, "mailer.example.net is not aligned with the domain shop.example.com",
		`<code>parley1._domainkey.mailer.example.net</code>`, `v=DKIM1; k=ed25519; p=`+strings.ReplaceAll(pub, "+", "&#43;"),
		`<code>shop.example.com</code>`, `v=spf1`,
		`<code>_dmarc.shop.example.com</code>`, `v=DMARC1; p=none; rua=mailto:postmaster@shop.example.com`)
}

// TestVisitorPanelPageLabel: the visitor panel says the page is where the
// visitor is now only while they are online; otherwise it is the last page
// they were on.
func TestVisitorPanelPageLabel(t *testing.T) {
	srv := apptest.Start(t, map[string]string{"PARLEY_VISITOR_GRACE": "100ms"})
	srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	b.login("ada@example.com")
	sess := contextSession(t, srv, map[string]string{"page_url": "https://shop.example.com/cart", "page_title": "Cart"})
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hi", "client_id": "c1"}, http.StatusCreated, &m)
	label := func() string {
		t.Helper()
		body := b.get("/dashboard/conversations/" + m.ConversationID).Body
		for _, l := range []string{"Now on", "Last page"} {
			if strings.Contains(body, "<dt>"+l+"</dt>") {
				return l
			}
		}
		t.Fatalf("no page label in the panel")
		return ""
	}
	online := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, err := srv.App.Chat.VisitorByToken(t.Context(), sess.VisitorToken)
			if err != nil {
				t.Fatal(err)
			}
			if v.Online == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("visitor online %v, want %v", v.Online, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := label(); got != "Last page" {
		t.Errorf("before the widget opened: %q, want %q", got, "Last page")
	}
	w := srv.DialWidget(sess.VisitorToken)
	online(true)
	if got := label(); got != "Now on" {
		t.Errorf("with the widget open: %q, want %q", got, "Now on")
	}
	w.Close()
	online(false)
	if got := label(); got != "Last page" {
		t.Errorf("after the visitor left: %q, want %q", got, "Last page")
	}
}

// TestFormsKeepTheView: every form of an open conversation carries the
// list's view beside its status filter, so that replying, closing or
// reopening leaves the agent in the view they work in (Mine, Unassigned).
func TestFormsKeepTheView(t *testing.T) {
	srv, _, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hi")
	page := b.get("/dashboard/conversations/" + vc.ConversationID + "?status=all&view=unassigned")
	if page.Status != http.StatusOK {
		t.Fatalf("conversation: status %d", page.Status)
	}
	forms := regexp.MustCompile(`(?s)<form[^>]*>.*?</form>`).FindAllString(page.Body, -1)
	n := 0
	for _, f := range forms {
		if !strings.Contains(f, `name="filter"`) {
			continue
		}
		n++
		if !strings.Contains(f, `name="filter" value="all"`) || !strings.Contains(f, `name="view" value="unassigned"`) {
			t.Errorf("form without the list's status and view: %.200s", f)
		}
	}
	if n < 5 {
		t.Fatalf("%d forms with the list's state, want at least 5 (reply, close, visitor, ask email, reset links)", n)
	}
	want := "/dashboard/conversations/" + vc.ConversationID + "?status=all&view=unassigned"
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{"/messages", url.Values{"body": {"On its way."}, "kind": {"reply"}}},
		{"/close", nil},
		{"/reopen", nil},
	} {
		form := step.form
		if form == nil {
			form = url.Values{}
		}
		form.Set("filter", "all")
		form.Set("view", "unassigned")
		a := b.post("/dashboard/conversations/"+vc.ConversationID+step.path, form)
		if a.Status != http.StatusSeeOther || a.Location != want {
			t.Errorf("%s: status %d, location %q, want %q", step.path, a.Status, a.Location, want)
		}
	}
}

// TestSettingsReadOnlyForAgents: an agent (not an admin) sees every
// settings form that only admins may send disabled, its Save button
// included, rather than a form that answers 403.
func TestSettingsReadOnlyForAgents(t *testing.T) {
	srv, _, _ := setup(t)
	srv.AddAgent("bob@example.com", "Bob") // the second agent: not an admin
	b := newBrowser(t, srv)
	b.login("bob@example.com")
	forms := regexp.MustCompile(`(?s)<form[^>]*action="(/dashboard/settings[^"]*)"[^>]*>(.*?)</form>`)
	for _, path := range []string{"/dashboard/settings", "/dashboard/settings/channels"} {
		page := b.get(path)
		if page.Status != http.StatusOK {
			t.Fatalf("%s: status %d", path, page.Status)
		}
		found := 0
		for _, m := range forms.FindAllStringSubmatch(page.Body, -1) {
			body := m[2]
			if !strings.Contains(body, `type="submit"`) {
				continue
			}
			found++
			open, end := strings.Index(body, "<fieldset disabled>"), strings.LastIndex(body, "</fieldset>")
			first, last := strings.Index(body, `type="submit"`), strings.LastIndex(body, `type="submit"`)
			if open < 0 || first < open || last > end {
				t.Errorf("%s: a form to %s that an agent can send: %.300s", path, m[1], body)
			}
		}
		if found == 0 {
			t.Errorf("%s: no settings form found", path)
		}
		mustContain(t, path, page.Body, `data-testid="readonly-note"`)
	}
	// Their own account is theirs to change: no read-only note there.
	mustNotContain(t, "your account", b.get("/dashboard/settings/account").Body, `data-testid="readonly-note"`)
	// Integrations are not shown to agents at all, and the page says so
	// rather than promising a read-only view.
	page := b.get("/dashboard/settings/integrations")
	mustContain(t, "integrations", page.Body, "Only admins see and change the integrations")
	mustNotContain(t, "integrations", page.Body, "you see them read-only")
}

// A page of the dashboard that does not exist says so inside the
// dashboard (its top bar kept), in a sentence's case; an admin's own row
// in Settings → Agents offers no removal (another admin removes them).
func TestDashboardMissingPageAndOwnRow(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	b := newBrowser(t, srv)
	b.login("ada@example.com")
	a := b.get("/dashboard/no-such-page")
	if a.Status != http.StatusNotFound {
		t.Fatalf("missing page: status %d", a.Status)
	}
	mustContain(t, "missing page", a.Body, `data-testid="status"`, "<h1>Not found</h1>", "There is nothing at this address.")
	page := b.get("/dashboard/settings/agents").Body
	if n := strings.Count(page, `data-testid="remove-agent"`); n != 1 {
		t.Errorf("%d removal buttons, want 1 (Ben's)", n)
	}
	mustContain(t, "agents page", page, `/dashboard/settings/agents/`+ben.ID+`/remove`)
}

// The away banner's fragment says how many visitors wait while the agent
// is away from them, and nothing while they are online.
func TestAwayBannerPartial(t *testing.T) {
	srv := apptest.Start(t, nil)
	ada := srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	b.login("ada@example.com") // logging in puts Ada online
	sess := newSession(t, srv, srv.Workspace.SiteKey, "")
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Anyone there?", "client_id": "c1"}, http.StatusCreated, nil)
	if a := b.get("/dashboard/partials/away"); a.Status != http.StatusOK || strings.TrimSpace(a.Body) != "" {
		t.Errorf("online: %d %q, want an empty fragment", a.Status, a.Body)
	}
	srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "invisible"}, http.StatusOK, nil)
	a := b.get("/dashboard/partials/away")
	if a.Status != http.StatusOK {
		t.Fatalf("invisible: status %d", a.Status)
	}
	mustContain(t, "banner", a.Body, `data-testid="away-banner"`, "<strong>invisible</strong>", "1 visitor is waiting for an answer", `data-testid="go-online"`)
	if a := newBrowser(t, srv).get("/dashboard/partials/away"); a.Status != http.StatusUnauthorized {
		t.Errorf("without a session: status %d, want 401", a.Status)
	}
}

// After a wrong password the login form keeps the address and puts the
// cursor in the password field; a first visit starts with the address.
func TestLoginFocus(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	autofocus := regexp.MustCompile(`<input [^>]*autofocus[^>]*>`)
	first := autofocus.FindAllString(b.get("/dashboard/login").Body, -1)
	if len(first) != 1 || !strings.Contains(first[0], `name="email"`) {
		t.Errorf("first visit: autofocus on %q, want the email field", first)
	}
	a := b.do("POST", "/dashboard/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong"}}, nil)
	again := autofocus.FindAllString(a.Body, -1)
	if len(again) != 1 || !strings.Contains(again[0], `name="password"`) {
		t.Errorf("after a wrong password: autofocus on %q, want the password field", again)
	}
	mustContain(t, "the refused login", a.Body, `value="ada@example.com"`)
}

// Canned replies is a tab of Settings like the others; an agent who is
// not an admin is not told the page is read-only (their replies are
// theirs to change).
func TestCannedRepliesTab(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada") // the admin
	srv.AddAgent("ben@example.com", "Ben") // an agent
	for _, who := range []string{"ada@example.com", "ben@example.com"} {
		b := newBrowser(t, srv)
		b.login(who)
		page := b.get("/dashboard/settings/canned").Body
		mustContain(t, who+"'s canned replies page", page, `<nav class="subnav" aria-label="Settings">`,
			`<a href="/dashboard/settings/canned" aria-current="page" data-testid="canned-nav">Canned replies</a>`)
		if strings.Contains(page, `data-testid="readonly-note"`) {
			t.Errorf("%s is told the canned replies are read-only", who)
		}
		mustContain(t, who+"'s preferences", b.get("/dashboard/settings").Body, `data-testid="canned-nav">Canned replies</a>`)
	}
}

// The reports' own address leads to the report the menu opens.
func TestDashboardReportsAddress(t *testing.T) {
	_, _, b := setup(t)
	if a := b.get("/dashboard/reports"); a.Status != http.StatusSeeOther || a.Location != "/dashboard/reports/continuity" {
		t.Fatalf("GET /dashboard/reports: %d to %q", a.Status, a.Location)
	}
	mustContain(t, "the menu", b.get("/dashboard").Body, `href="/dashboard/reports/continuity"`)
}

// Adding a canned reply says "Saved."; deleting one says "Deleted.".
func TestCannedRepliesSaidDone(t *testing.T) {
	srv, ada, b := setup(t)
	r := b.post("/dashboard/settings/canned", url.Values{"shortcut": {"hi"}, "body": {"Hello!"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("add: %d", r.Status)
	}
	mustContain(t, "after adding", b.get(r.Location).Body, `data-testid="canned-saved">Saved.</p>`)
	var list struct {
		Canned []struct{ ID string } `json:"canned"`
	}
	srv.Do("GET", "/api/v1/canned", ada.Token, nil, http.StatusOK, &list)
	if len(list.Canned) != 1 {
		t.Fatalf("%d canned replies", len(list.Canned))
	}
	r = b.post("/dashboard/settings/canned/"+list.Canned[0].ID+"/delete", url.Values{})
	page := b.get(r.Location).Body
	mustContain(t, "after deleting", page, `data-testid="canned-deleted">Deleted.</p>`)
	if strings.Contains(page, `data-testid="canned-saved"`) {
		t.Error("a deletion is said as saved")
	}
}

// While the workspace still has the name the first agent got it with,
// its admins are asked to give it theirs: visitors see it.
func TestDefaultNameNudge(t *testing.T) {
	srv := apptest.Start(t, nil)
	ada := srv.AddAgent("ada@example.com", "Ada")
	srv.AddAgent("ben@example.com", "Ben")
	if srv.Workspace.Name != "Default" {
		t.Skipf("the test workspace is named %q", srv.Workspace.Name)
	}
	admin, agent := newBrowser(t, srv), newBrowser(t, srv)
	admin.login("ada@example.com")
	agent.login("ben@example.com")
	mustContain(t, "the admin's inbox", admin.get("/dashboard").Body, `data-testid="name-nudge"`)
	if strings.Contains(agent.get("/dashboard").Body, `data-testid="name-nudge"`) {
		t.Error("an agent who cannot rename the workspace is asked to")
	}
	srv.Do("PUT", "/api/v1/settings", ada.Token, map[string]any{"workspace_name": "Teapots & Co"}, http.StatusOK, nil)
	if strings.Contains(admin.get("/dashboard").Body, `data-testid="name-nudge"`) {
		t.Error("still asked once the workspace has a name")
	}
}

// The inbox's empty states say what is empty: the view's list names its
// filters, and the placeholder does not point at a list with nothing in it.
func TestDashboardEmptyStates(t *testing.T) {
	srv, _, b := setup(t)
	tests := []struct {
		path string
		want []string
	}{
		{"/dashboard", []string{"No open conversations.", ">Nothing to answer in this view.</p>"}},
		{"/dashboard?view=unassigned&status=closed", []string{"No closed conversations without an assignee."}},
		{"/dashboard?view=mine", []string{"No open conversations assigned to you."}},
	}
	for _, tt := range tests {
		page := b.get(tt.path).Body
		mustContain(t, tt.path, page, tt.want...)
		mustNotContain(t, tt.path, page, ">Select a conversation on the left.</p>")
	}
	newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hi")
	mustContain(t, "a list with a conversation", b.get("/dashboard").Body, ">Select a conversation on the left.</p>")
}

// A list row says "Awaiting reply" while the visitor waits for an answer,
// read or not; an agent's reply ends it.
func TestDashboardListAwaitingReply(t *testing.T) {
	srv, a, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "Where is my parcel?")
	row := `data-testid="list-waiting"`
	mustContain(t, "a visitor's message", b.get("/dashboard").Body, row)
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/read", a.Token, nil, http.StatusOK, nil)
	mustContain(t, "read, not answered", b.get("/dashboard").Body, row)
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", a.Token, map[string]string{"body": "It left today.", "kind": "reply"}, http.StatusCreated, nil)
	mustNotContain(t, "answered", b.get("/dashboard").Body, row)
}

// A search result names who wrote the matching message and marks an
// internal note; a match on the visitor's name names nobody.
func TestDashboardSearchNamesTheAuthor(t *testing.T) {
	srv, a, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "My parcel arrived broken")
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", a.Token, map[string]string{"body": "Parcel photos asked for", "kind": "comment"}, http.StatusCreated, nil)
	srv.Do("POST", "/api/v1/conversations/"+vc.ConversationID+"/messages", a.Token, map[string]string{"body": "Could you send a photo of the parcel?", "kind": "reply"}, http.StatusCreated, nil)
	page := b.get("/dashboard/search?q=parcel").Body
	mustContain(t, "search", page, `data-testid="search-who">Vera:</span> My <mark>parcel</mark>`, `data-testid="search-note">note</span> <span class="result-who" data-testid="search-who">Ada:</span> <mark>Parcel</mark> photos`,
		`data-testid="search-who">Ada:</span> Could you send`)
	if n := strings.Count(page, `data-testid="search-note"`); n != 1 {
		t.Errorf("%d results marked as notes, want 1", n)
	}
	mustNotContain(t, "search of the visitor's name", b.get("/dashboard/search?q=vera").Body, `data-testid="search-who"`)
}

// Dashboard pages and partials go out as they are, even to a browser that
// takes gzip: compressed beside text a visitor writes (the list's
// previews, a conversation), their lengths would tell an observer of the
// traffic what else they hold (BREACH). Each carries the CSRF token under
// a new mask, which keeps the token safe where a proxy compresses them
// anyway, and any of them is accepted.
func TestDashboardTokens(t *testing.T) {
	srv, _, b := setup(t)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "hello")
	tokens := map[string]bool{}
	for _, path := range []string{"/dashboard", "/dashboard/conversations/" + vc.ConversationID, "/dashboard/partials/list"} {
		for _, enc := range []string{"gzip", "identity"} {
			a := b.do("GET", path, nil, map[string]string{"Accept-Encoding": enc})
			if a.Status != http.StatusOK {
				t.Fatalf("%s (%s): status %d", path, enc, a.Status)
			}
			if got := a.Header.Get("Content-Encoding"); got != "" {
				t.Errorf("%s (%s): Content-Encoding %q", path, enc, got)
			}
			m := formCSRF.FindStringSubmatch(a.Body)
			if m == nil {
				t.Fatalf("%s (%s): no CSRF field in %.300s", path, enc, a.Body)
			}
			if tokens[m[1]] {
				t.Errorf("%s (%s): CSRF token %s seen in an earlier response", path, enc, m[1])
			}
			tokens[m[1]] = true
		}
	}
	for tok := range tokens {
		form := url.Values{"body": {"a reply"}, "kind": {"reply"}, "csrf": {tok}}
		if a := b.do("POST", "/dashboard/conversations/"+vc.ConversationID+"/messages", form, nil); a.Status != http.StatusSeeOther {
			t.Errorf("a reply with token %s: status %d", tok, a.Status)
		}
	}
}

var formCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
