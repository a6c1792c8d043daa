package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The dashboard marks the email learned from the conversation with an
// undo, and offers a later address with one click.
func TestDashboardEmailFromConversation(t *testing.T) {
	srv, agent, b := setup(t)
	srv.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "It's jo.doe@visitor.test"}, http.StatusCreated, &m)
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "or <b>jo@work.example.com</b>"}, http.StatusCreated, nil)
	page := "/dashboard/conversations/" + m.ConversationID

	body := b.get(page).Body
	mustContain(t, "conversation", body, "Email saved from the conversation: jo.doe@visitor.test",
		`data-testid="undo-email"`, `data-testid="use-email"`, `Use <bdi>jo@work.example.com</bdi>`, `value="jo.doe@visitor.test"`)
	mustNotContain(t, "conversation", body, "<b>jo@work")
	if n := strings.Count(body, `data-testid="use-email"`); n != 1 {
		t.Errorf("%d offers, want 1 (the first address is the visitor's)", n)
	}

	email := func() string {
		v, err := srv.App.Chat.VisitorByToken(context.Background(), sess.VisitorToken)
		if err != nil {
			t.Fatal(err)
		}
		if v.Email == nil {
			return ""
		}
		return *v.Email
	}
	// Undo.
	if a := b.post("/dashboard/visitors/"+sess.Visitor.ID, url.Values{"email": {""}, "conversation": {m.ConversationID}}); a.Status != http.StatusSeeOther {
		t.Fatalf("undo: status %d; %s", a.Status, a.Body)
	}
	if e := email(); e != "" {
		t.Fatalf("after undo the email is %q", e)
	}
	body = b.get(page).Body
	mustNotContain(t, "conversation after undo", body, `data-testid="undo-email"`)
	if n := strings.Count(body, `data-testid="use-email"`); n != 2 {
		t.Errorf("%d offers after undo, want 2", n)
	}
	// One click on the offer.
	if a := b.post("/dashboard/visitors/"+sess.Visitor.ID, url.Values{"email": {"jo@work.example.com"}, "conversation": {m.ConversationID}}); a.Status != http.StatusSeeOther {
		t.Fatalf("use: status %d; %s", a.Status, a.Body)
	}
	if e := email(); e != "jo@work.example.com" {
		t.Fatalf("after use the email is %q", e)
	}
	body = b.get(page).Body
	if n := strings.Count(body, `data-testid="use-email"`); n != 1 {
		t.Errorf("%d offers after use, want 1 (the other address)", n)
	}
}

// An address at the domain of the site the visitor is on is the shop's:
// the dashboard offers only the visitor's own after it.
func TestDashboardOffersNoAddressOfTheSite(t *testing.T) {
	srv, _, b := setup(t)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey, "page_url": "https://www.kettle.example/pots"}, http.StatusOK, &sess)
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "It's sam@visitor.test"}, http.StatusCreated, &m)
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "I wrote to hello@kettle.example"}, http.StatusCreated, nil)
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "or sam@work.example"}, http.StatusCreated, nil)
	body := b.get("/dashboard/conversations/" + m.ConversationID).Body
	mustContain(t, "conversation", body, `Use <bdi>sam@work.example</bdi>`)
	mustNotContain(t, "conversation", body, `Use <bdi>hello@kettle.example</bdi>`)
}
