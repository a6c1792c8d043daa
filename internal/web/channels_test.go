package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/channels/meta/metatest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/web"
)

var channelPage = metatest.Page{ID: "1029384756", Name: "Corner Shop", Token: "EAAWebTestPageTokenABCDEFwxyz", AppSecret: "00112233445566778899aabbccddeeff", InstagramID: "17841400000000077"}

const channelVerifyToken = "web-verify-token-42"

// channelServer starts Parley with the Meta channel, an agent, and the
// workspace connected to channelPage.
func channelServer(t *testing.T) (*metatest.Parley, apptest.Agent) {
	t.Helper()
	p := metatest.Start(t, nil)
	a := p.AddAgent("ada@example.com", "Ada")
	p.Connect(t, a.Token, channelPage, channelVerifyToken)
	return p, a
}

func storedEvents(t *testing.T, p *metatest.Parley) int {
	t.Helper()
	var n int
	if err := p.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM channel_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMetaWebhookVerification(t *testing.T) {
	t.Parallel()
	p, _ := channelServer(t)
	tests := []struct {
		name   string
		query  url.Values
		status int
		body   string
	}{
		{"good token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {channelVerifyToken}, "hub.challenge": {"1158201444"}}, 200, "1158201444"},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1158201444"}}, 403, ""},
		{"no token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}}, 403, ""},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {channelVerifyToken}, "hub.challenge": {"1"}}, 403, ""},
		{"no challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {channelVerifyToken}}, 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(p.URL + meta.WebhookPath + "?" + tc.query.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, raw)
			}
			if tc.status == 200 {
				if string(raw) != tc.body || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
					t.Errorf("answer %q (%s), want %q as plain text", raw, resp.Header.Get("Content-Type"), tc.body)
				}
			}
		})
	}
}

func TestMetaWebhookSignature(t *testing.T) {
	t.Parallel()
	p, a := channelServer(t)
	vars := map[string]string{"PAGE_ID": channelPage.ID, "PSID": "55501", "MID": "m_web_1", "TIME": metatest.Millis(time.Now()), "TEXT": "Open on Sunday?"}
	body := metatest.Payload(t, "messenger_text", vars)
	post := func(body []byte, sig string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", p.URL+meta.WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}

	for _, tc := range []struct {
		name, sig string
		body      []byte
		status    int
		code      string
	}{
		{"missing signature", "", body, 401, "invalid_signature"},
		{"wrong secret", meta.Sign(body, "wrong-app-secret"), body, 401, "invalid_signature"},
		{"altered body", meta.Sign(body, channelPage.AppSecret), bytes.Replace(body, []byte("Sunday"), []byte("Monday"), 1), 401, "invalid_signature"},
		{"malformed", meta.Sign([]byte("not json"), channelPage.AppSecret), []byte("not json"), 400, "bad_request"},
		{"too large", meta.Sign(body, channelPage.AppSecret), append(bytes.Repeat([]byte(" "), meta.MaxWebhookBytes), body...), 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, raw := post(tc.body, tc.sig)
			if status != tc.status || apptest.ErrorCode([]byte(raw)) != tc.code {
				t.Errorf("status %d %s, want %d %s", status, raw, tc.status, tc.code)
			}
			if n := storedEvents(t, p); n != 0 {
				t.Errorf("%d events stored from a refused delivery", n)
			}
		})
	}
	if cs := listConversations(t, p.Server, a.Token); len(cs) != 0 {
		t.Fatalf("refused deliveries made %d conversations", len(cs))
	}

	status, raw := post(body, meta.Sign(body, channelPage.AppSecret))
	if status != 200 {
		t.Fatalf("signed delivery: %d %s", status, raw)
	}
	apptest.Eventually(t, 5*time.Second, "the conversation", func() bool {
		cs := listConversations(t, p.Server, a.Token)
		return len(cs) == 1 && cs[0].Channel == model.ChannelMessenger && cs[0].LastMessage != nil && *cs[0].LastMessage == "Open on Sunday?"
	})
}

func listConversations(t *testing.T, s *apptest.Server, token string) []model.Conversation {
	t.Helper()
	var out struct {
		Conversations []model.Conversation `json:"conversations"`
	}
	s.Do("GET", "/api/v1/conversations?status=all", token, nil, http.StatusOK, &out)
	return out.Conversations
}

func TestChannelsSettingsPage(t *testing.T) {
	t.Parallel()
	p := metatest.Start(t, nil)
	p.AddAgent("ada@example.com", "Ada")
	p.Graph.AddPage(channelPage)
	b := newBrowser(t, p.Server)

	if a := b.get("/dashboard/settings/channels"); a.Status != http.StatusSeeOther || a.Location != "/dashboard/login?next=%2Fdashboard%2Fsettings%2Fchannels" {
		t.Fatalf("anonymous: status %d location %q", a.Status, a.Location)
	}
	b.login("ada@example.com")
	a := b.get("/dashboard/settings/channels")
	if a.Status != 200 {
		t.Fatalf("page: %d %s", a.Status, a.Body)
	}
	mustContain(t, "page before connecting", a.Body, "Connect a Facebook Page", p.URL+meta.WebhookPath, `name="csrf"`)

	form := url.Values{"page_id": {channelPage.ID}, "page_token": {channelPage.Token}, "app_secret": {channelPage.AppSecret},
		"verify_token": {channelVerifyToken}, "instagram_id": {channelPage.InstagramID}}
	if a := b.do("POST", "/dashboard/settings/channels", form, nil); a.Status != http.StatusForbidden {
		t.Errorf("form without CSRF: status %d", a.Status)
	}
	bad := url.Values{"page_id": {"my page"}, "page_token": {channelPage.Token}, "app_secret": {channelPage.AppSecret}, "verify_token": {channelVerifyToken}}
	a = b.post("/dashboard/settings/channels", bad)
	if a.Status != http.StatusBadRequest {
		t.Errorf("bad page id: status %d", a.Status)
	}
	mustContain(t, "refused form", a.Body, "Page id is the number", `value="my page"`)
	mustNotContain(t, "refused form", a.Body, channelPage.Token, channelPage.AppSecret)

	a = b.post("/dashboard/settings/channels", form)
	if a.Status != http.StatusSeeOther || a.Location != "/dashboard/settings/channels?saved=1" {
		t.Fatalf("connect: status %d location %q body %s", a.Status, a.Location, a.Body)
	}
	a = b.get(a.Location)
	mustContain(t, "connected page", a.Body, "Corner Shop", channelPage.ID, channelPage.InstagramID, "…wxyz", "…eeff", "leave empty to keep")
	mustNotContain(t, "connected page", a.Body, channelPage.Token, channelPage.AppSecret, channelVerifyToken)
	if n := p.Graph.Calls("POST subscribed_apps"); n != 1 {
		t.Errorf("%d webhook subscriptions, want 1", n)
	}

	// Secrets are stored encrypted.
	var tokenEnc, secretEnc string
	if err := p.App.DB.SQL.QueryRow(`SELECT page_token_enc, app_secret_enc FROM channel_accounts`).Scan(&tokenEnc, &secretEnc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tokenEnc, channelPage.Token) || strings.Contains(secretEnc, channelPage.AppSecret) || !strings.HasPrefix(tokenEnc, "v1:") {
		t.Errorf("secrets stored in clear: %q %q", tokenEnc, secretEnc)
	}

	// Saving again with the secrets left empty keeps them.
	a = b.post("/dashboard/settings/channels", url.Values{"page_id": {channelPage.ID}, "instagram_id": {""}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("save without secrets: %d %s", a.Status, a.Body)
	}
	var acct meta.Account
	p.Do("GET", "/api/v1/channels/meta", loginToken(t, p.Server), nil, http.StatusOK, &acct)
	if acct.PageTokenLast4 != "wxyz" || acct.InstagramID != "" {
		t.Errorf("after saving without secrets: %+v", acct)
	}

	// Meta refusing the token: nothing saved.
	wrong := url.Values{"page_id": {channelPage.ID}, "page_token": {"EAAUnknownToken1234"}}
	a = b.post("/dashboard/settings/channels", wrong)
	if a.Status != http.StatusBadRequest {
		t.Errorf("token Meta refuses: status %d", a.Status)
	}
	mustContain(t, "refused token", a.Body, "Meta refused")

	// Saved, but the app could not be subscribed to the Page's messages:
	// said as a warning, not as a success.
	p.Graph.FailSubscribe(true)
	a = b.post("/dashboard/settings/channels", url.Values{"page_id": {channelPage.ID}})
	if a.Status != http.StatusOK {
		t.Errorf("saved with a failed subscription: status %d", a.Status)
	}
	mustContain(t, "failed subscription", a.Body, `<p class="warning" role="status" data-testid="channels-notice">Saved, but subscribing the app`)
	p.Graph.FailSubscribe(false)

	a = b.post("/dashboard/settings/channels/disconnect", nil)
	if a.Status != http.StatusSeeOther {
		t.Fatalf("disconnect: %d", a.Status)
	}
	mustContain(t, "after disconnecting", b.get("/dashboard/settings/channels").Body, "Not connected")
}

// loginToken logs ada in through the API.
func loginToken(t *testing.T, s *apptest.Server) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": testPassword}, http.StatusOK, &out)
	return out.Token
}

func TestChannelAPI(t *testing.T) {
	t.Parallel()
	p, a := channelServer(t)

	// The connection never shows a secret.
	raw := p.Do("GET", "/api/v1/channels/meta", a.Token, nil, http.StatusOK, nil)
	for _, secret := range []string{channelPage.Token, channelPage.AppSecret, channelVerifyToken} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("GET /api/v1/channels/meta shows a secret: %s", raw)
		}
	}
	p.Do("GET", "/api/v1/channels/meta", "", nil, http.StatusUnauthorized, nil)
	raw = p.Do("PUT", "/api/v1/channels/meta", a.Token, map[string]string{"page_id": channelPage.ID, "page_token": "short"}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != meta.CodeInvalidChannel {
		t.Errorf("short token: %s", raw)
	}

	// Another workspace cannot connect the same Page.
	other, err := p.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	bob := p.AddAgent("bob@example.com", "Bob", other.ID)
	raw = p.Do("PUT", "/api/v1/channels/meta", bob.Token, meta.ConnectInput{PageID: channelPage.ID, PageToken: channelPage.Token,
		AppSecret: channelPage.AppSecret, VerifyToken: "bobs-verify-token"}, http.StatusConflict, nil)
	if apptest.ErrorCode(raw) != chat.CodeDuplicate {
		t.Errorf("same page twice: %s", raw)
	}

	// A website conversation has no channel window and takes no channel message.
	sess := newSession(t, p.Server, p.Workspace.SiteKey, "")
	if _, err := p.App.Chat.VisitorContact(t.Context(), sess.Visitor.ID, "v@example.com", "Val"); err != nil {
		t.Fatal(err)
	}
	var m model.Message
	p.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hi", "client_id": "c1"}, http.StatusCreated, &m)
	raw = p.Do("GET", "/api/v1/conversations/"+m.ConversationID+"/channel", a.Token, nil, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != chat.CodeNotChannel {
		t.Errorf("window of a website conversation: %s", raw)
	}
	raw = p.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/channel-messages", a.Token, map[string]string{"body": "hi"}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != chat.CodeNotChannel {
		t.Errorf("channel message on a website conversation: %s", raw)
	}
	// Another workspace's conversation is not found.
	p.Do("GET", "/api/v1/conversations/"+m.ConversationID+"/channel", bob.Token, nil, http.StatusNotFound, nil)
	p.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/channel-messages", bob.Token, map[string]string{"body": "hi"}, http.StatusNotFound, nil)

	p.Do("DELETE", "/api/v1/channels/meta", a.Token, nil, http.StatusNoContent, nil)
	var acct meta.Account
	p.Do("GET", "/api/v1/channels/meta", a.Token, nil, http.StatusOK, &acct)
	if acct.Connected {
		t.Errorf("still connected after DELETE: %+v", acct)
	}
}

func TestChannelRoutesWithoutTheChannel(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	a := s.AddAgent("ada@example.com", "Ada")
	// The same chat service, served by a web server given no channel.
	h := web.New(s.App.Chat, s.App.Hub, web.Options{Secret: []byte("another secret"), Logger: s.App.Log})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	off := *s
	off.URL = hs.URL

	for _, tc := range []struct{ method, path, token string }{
		{"GET", meta.WebhookPath + "?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1", ""},
		{"POST", meta.WebhookPath, ""},
		{"GET", "/api/v1/channels/meta", a.Token},
		{"PUT", "/api/v1/channels/meta", a.Token},
		{"DELETE", "/api/v1/channels/meta", a.Token},
	} {
		raw := off.Do(tc.method, tc.path, tc.token, "{}", http.StatusNotFound, nil)
		if apptest.ErrorCode(raw) != "channels_not_enabled" {
			t.Errorf("%s %s without the channel: %s", tc.method, tc.path, raw)
		}
	}
	// The application's own server has the channel.
	s.Do("GET", "/api/v1/channels/meta", a.Token, nil, http.StatusOK, nil)

	b := newBrowser(t, &off)
	b.login("ada@example.com")
	page := b.get("/dashboard/settings/channels")
	if page.Status != http.StatusOK {
		t.Fatalf("channels page: %d", page.Status)
	}
	mustContain(t, "channels page", page.Body, "Messenger and Instagram are not enabled on this server.")
	if got := b.post("/dashboard/settings/channels/disconnect", url.Values{}); got.Status != http.StatusNotFound {
		t.Errorf("disconnect without the channel: %d", got.Status)
	}
}

// The dashboard tells the agent before sending when Messenger's 24-hour
// window has closed, and sends with the human agent tag when asked.
func TestDashboardMessagingWindow(t *testing.T) {
	t.Parallel()
	p, _ := channelServer(t)
	body := metatest.Payload(t, "messenger_text", map[string]string{"PAGE_ID": channelPage.ID, "PSID": "4455667788",
		"MID": "m_window1", "TIME": metatest.Millis(time.Now().Add(-30 * time.Hour)), "TEXT": "Where is my parcel?"})
	if status, out := p.PostWebhook(t, body, channelPage.AppSecret); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, out)
	}
	var convID string
	apptest.Eventually(t, 10*time.Second, "the Messenger conversation", func() bool {
		for _, c := range listConversations(t, p.Server, loginToken(t, p.Server)) {
			if c.Channel == "messenger" {
				convID = c.ID
				return true
			}
		}
		return false
	})
	b := newBrowser(t, p.Server)
	b.login("ada@example.com")
	page := b.get("/dashboard/conversations/" + convID).Body
	mustContain(t, "conversation", page, `data-testid="window-closed"`, `name="tag" value="HUMAN_AGENT"`, "via messenger")

	b.post("/dashboard/conversations/"+convID+"/messages", url.Values{"body": {"It left the depot today."}, "kind": {"reply"}, "tag": {"HUMAN_AGENT"}})
	sends := p.Graph.WaitSends(t, 1, 10*time.Second)
	if sends[0].Tag != "HUMAN_AGENT" || sends[0].MessagingType != "MESSAGE_TAG" || sends[0].Text != "It left the depot today." {
		t.Fatalf("send: %+v", sends[0])
	}
	apptest.Eventually(t, 10*time.Second, "delivery shown", func() bool {
		return strings.Contains(b.get("/dashboard/partials/conversation/"+convID).Body, `data-testid="delivery">sent<`)
	})
}
