package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

const firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"

// contextSession starts a widget session the way widget.js does, with the
// page and the browser's context.
func contextSession(t *testing.T, s *apptest.Server, body map[string]string) session {
	t.Helper()
	body["site_key"] = s.Workspace.SiteKey
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.URL+"/api/widget/v1/session", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", firefoxUA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out session
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("session: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVisitorContext(t *testing.T) {
	s, a, _, _ := chatting(t)
	sess := contextSession(t, s, map[string]string{
		"page_url": "https://shop.example.com/cart", "page_title": "Your <b>cart</b>",
		"referrer": "https://search.example.org/?q=shoes", "locale": "fr-FR", "time_zone": "Europe/Paris",
	})
	v := sess.Visitor
	if v.Locale == nil || *v.Locale != "fr-FR" || v.TimeZone == nil || *v.TimeZone != "Europe/Paris" ||
		v.Browser == nil || *v.Browser != "Firefox 128" || v.OS == nil || *v.OS != "Windows 10" ||
		v.Referrer == nil || *v.Referrer != "https://search.example.org/?q=shoes" ||
		v.Page == nil || v.Page.URL != "https://shop.example.com/cart" || v.Page.Title != "Your <b>cart</b>" {
		t.Fatalf("session visitor context: %+v", v.VisitorContext)
	}

	// Values of the wrong shape are left out; the session still starts.
	bad := contextSession(t, s, map[string]string{
		"page_url": "javascript:alert(1)", "referrer": "not a url", "locale": "?!", "time_zone": "Mars/Olympus",
	})
	if bad.Visitor.Page != nil || bad.Visitor.Referrer != nil || bad.Visitor.Locale != nil || bad.Visitor.TimeZone != nil {
		t.Fatalf("bad context stored: %+v", bad.Visitor.VisitorContext)
	}

	// Page frames: each new page is added and agents hear of it.
	agentWS := s.DialAgent(a.Token)
	w := s.DialWidget(sess.VisitorToken)
	w.Send(map[string]string{"type": "page", "url": "https://shop.example.com/checkout", "title": "Checkout"})
	ev := waitPage(t, agentWS, "https://shop.example.com/checkout")
	if field(ev, "data", "page", "title") != "Checkout" || field(ev, "data", "browser") != "Firefox 128" {
		t.Fatalf("visitor.updated: %v", ev)
	}
	// Bad page frames get an error frame; the connection stays.
	for _, f := range []map[string]any{
		{"type": "page", "url": "javascript:alert(1)", "title": "x"},
		{"type": "page", "url": "https://shop.example.com/", "title": strings.Repeat("t", 501)},
		{"type": "page", "url": 42},
	} {
		w.Send(f)
		e := w.WaitFor("error", wait)
		if e["code"] != "bad_frame" {
			t.Fatalf("frame %v: error %v", f, e)
		}
		if msg, _ := e["message"].(string); msg == "" {
			t.Fatalf("frame %v: error without a message", f)
		}
	}
	var pages struct {
		Pages []model.Page `json:"pages"`
	}
	s.Do("GET", "/api/v1/visitors/"+v.ID+"/pages", a.Token, nil, http.StatusOK, &pages)
	if len(pages.Pages) != 2 || pages.Pages[0].URL != "https://shop.example.com/checkout" || pages.Pages[1].URL != "https://shop.example.com/cart" {
		t.Fatalf("pages: %+v", pages.Pages)
	}
	// The connection still works after the refused frames.
	w.Send(map[string]string{"type": "page", "url": "https://shop.example.com/thanks", "title": "Thanks"})
	waitPage(t, agentWS, "https://shop.example.com/thanks")

	// Another workspace's agent: 404.
	other := s.AddAgentRole(newWorkspaceID(t, s), "zed@example.com", "Zed", model.RoleAdmin)
	s.Do("GET", "/api/v1/visitors/"+v.ID+"/pages", other.Token, nil, http.StatusNotFound, nil)

	// The export holds the pages.
	var ex struct {
		Pages []model.Page `json:"pages"`
	}
	s.Do("GET", "/api/v1/visitors/"+v.ID+"/export", a.Token, nil, http.StatusOK, &ex)
	if len(ex.Pages) != 3 || ex.Pages[0].URL != "https://shop.example.com/thanks" {
		t.Fatalf("export pages: %+v", ex.Pages)
	}
}

// waitPage waits for the visitor.updated event that names the page url.
func waitPage(t *testing.T, agentWS *apptest.WS, url string) map[string]any {
	t.Helper()
	for {
		ev := agentWS.WaitFor("visitor.updated", wait)
		if field(ev, "data", "page", "url") == url {
			return ev
		}
	}
}

func newWorkspaceID(t *testing.T, s *apptest.Server) string {
	t.Helper()
	w, err := s.App.Chat.CreateWorkspace(t.Context(), "Other "+model.NewID())
	if err != nil {
		t.Fatal(err)
	}
	return w.ID
}

func TestTypingBothWays(t *testing.T) {
	s, a, sess, m := chatting(t)
	agentWS := s.DialAgent(a.Token)
	w := s.DialWidget(sess.VisitorToken)

	// The visitor types: agents see the draft.
	w.Send(map[string]string{"type": "typing", "preview": "I would like to <script>"})
	ev := agentWS.WaitFor("visitor.typing", wait)
	if field(ev, "data", "conversation_id") != m.ConversationID || field(ev, "data", "preview") != "I would like to <script>" {
		t.Fatalf("visitor.typing: %v", ev)
	}
	// Previews off: the event says typing, without the draft.
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"typing_preview": false}, http.StatusOK, nil)
	w.Send(map[string]string{"type": "typing", "preview": "secret draft"})
	ev = agentWS.WaitFor("visitor.typing", wait)
	if d, _ := ev["data"].(map[string]any); d["preview"] != nil || d["conversation_id"] != m.ConversationID {
		t.Fatalf("visitor.typing with previews off: %v", ev)
	}
	// A preview too long: an error frame, the connection stays.
	w.Send(map[string]string{"type": "typing", "preview": strings.Repeat("x", 501)})
	if e := w.WaitFor("error", wait); e["code"] != "bad_frame" {
		t.Fatalf("long preview: %v", e)
	}

	// The agent types, by the API and by the WebSocket: the widget names them.
	s.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/typing", a.Token, nil, http.StatusNoContent, nil)
	f := w.WaitFor("typing", wait)
	if field(f, "agent", "name") != "Ann" {
		t.Fatalf("typing frame: %v", f)
	}
	// The workspace's dashboards learn it too, with who (colleagues with
	// the conversation open then do not answer at the same time).
	ev = agentWS.WaitFor("agent.typing", wait)
	if d, _ := ev["data"].(map[string]any); d["conversation_id"] != m.ConversationID || field(d, "agent", "name") != "Ann" || field(d, "agent", "id") != a.ID {
		t.Fatalf("agent.typing: %v", ev)
	}
	agentWS.Send(map[string]string{"type": "typing", "conversation_id": m.ConversationID})
	if f := w.WaitFor("typing", wait); field(f, "agent", "name") != "Ann" {
		t.Fatalf("typing frame from the agent's WebSocket: %v", f)
	}
	// Bad agent frames: an error frame, the connection stays.
	agentWS.Send("not json")
	if e := agentWS.WaitFor("error", wait); e["code"] != "bad_frame" {
		t.Fatalf("bad agent frame: %v", e)
	}
	agentWS.Send(map[string]string{"type": "typing", "conversation_id": "0000000000000000"})
	if e := agentWS.WaitFor("error", wait); e["code"] != "bad_frame" || e["message"] != "conversation not found" {
		t.Fatalf("typing in an unknown conversation: %v", e)
	}
	s.Do("POST", "/api/v1/conversations/0000000000000000/typing", a.Token, nil, http.StatusNotFound, nil)
	other := s.AddAgentRole(newWorkspaceID(t, s), "zed@example.com", "Zed", model.RoleAdmin)
	s.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/typing", other.Token, nil, http.StatusNotFound, nil)

	// Nothing of it is stored.
	var msgs struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+m.ConversationID+"/messages", a.Token, nil, http.StatusOK, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("%d messages after typing", len(msgs.Messages))
	}
}

// TestReturningSessionContext: a returning visitor's session stores only
// what changed, and the agents hear of a change only.
func TestReturningSessionContext(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("context@example.com", "Context")
	dash := s.DialAgent(a.Token)
	defer dash.Close()
	ctxOf := func(page, tz, token string) map[string]string {
		body := map[string]string{"page_url": page, "page_title": "Shop", "locale": "fr-FR", "time_zone": tz}
		if token != "" {
			body["visitor_token"] = token
		}
		return body
	}
	first := contextSession(t, s, ctxOf("https://shop.example.com/cart", "Europe/Paris", ""))
	if first.Visitor.Page == nil || first.Visitor.Browser == nil || *first.Visitor.Browser != "Firefox 128" {
		t.Fatalf("new visitor's context: %+v", first.Visitor.VisitorContext)
	}
	// announced reads the dashboard up to a marker (a status change) and
	// returns the pages of the visitor.updated events before it.
	status := "invisible"
	announced := func() (pages []string) {
		s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": status}, 200, nil)
		status = map[string]string{"invisible": "online", "online": "invisible"}[status]
		for {
			f := dash.Next(wait)
			switch f["type"] {
			case "visitor.updated":
				url, _ := field(f, "data", "page", "url").(string)
				pages = append(pages, url)
			case "agent.updated":
				return pages
			}
		}
	}
	pagesOf := func() []model.Page {
		var out struct {
			Pages []model.Page `json:"pages"`
		}
		s.Do("GET", "/api/v1/visitors/"+first.Visitor.ID+"/pages", a.Token, nil, http.StatusOK, &out)
		return out.Pages
	}
	announced()

	// A reload: the same context, nothing new.
	again := contextSession(t, s, ctxOf("https://shop.example.com/cart", "Europe/Paris", first.VisitorToken))
	if !again.Visitor.Page.At.Equal(first.Visitor.Page.At) || len(pagesOf()) != 1 {
		t.Fatalf("a reload moved the page: %+v, pages %+v", again.Visitor.Page, pagesOf())
	}
	if got := announced(); len(got) != 0 {
		t.Fatalf("a reload was announced: %v", got)
	}

	// Another page and time zone: stored, kept beside the rest, announced.
	moved := contextSession(t, s, ctxOf("https://shop.example.com/pay", "Europe/Berlin", first.VisitorToken))
	v := moved.Visitor
	if v.Page == nil || v.Page.URL != "https://shop.example.com/pay" || v.TimeZone == nil || *v.TimeZone != "Europe/Berlin" ||
		v.Locale == nil || *v.Locale != "fr-FR" || v.Browser == nil || *v.Browser != "Firefox 128" {
		t.Fatalf("returning visitor's context: %+v", v.VisitorContext)
	}
	if p := pagesOf(); len(p) != 2 || p[0].URL != "https://shop.example.com/pay" {
		t.Fatalf("pages: %+v", p)
	}
	if got := announced(); len(got) != 1 || got[0] != "https://shop.example.com/pay" {
		t.Fatalf("announced: %v", got)
	}
}
