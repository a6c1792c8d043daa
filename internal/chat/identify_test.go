package chat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

type widgetSession struct {
	VisitorToken string        `json:"visitor_token"`
	Visitor      model.Visitor `json:"visitor"`
}

func newVisitor(t *testing.T, s *apptest.Server) widgetSession {
	t.Helper()
	var sess widgetSession
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	return sess
}

// postWidget sends a visitor message over the HTTP fallback and returns
// the conversation id.
func postWidget(t *testing.T, s *apptest.Server, tok, body string) string {
	t.Helper()
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": body}, http.StatusCreated, &m)
	return m.ConversationID
}

func visitorOf(t *testing.T, s *apptest.Server, agentTok, id string) model.Visitor {
	t.Helper()
	var v model.Visitor
	s.Do("GET", "/api/v1/visitors/"+id, agentTok, nil, http.StatusOK, &v)
	return v
}

func messagesOf(t *testing.T, s *apptest.Server, agentTok, conv string) []model.Message {
	t.Helper()
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+conv+"/messages", agentTok, nil, http.StatusOK, &out)
	return out.Messages
}

func source(v model.Visitor) string {
	if v.EmailSource == nil {
		return "<nil>"
	}
	return *v.EmailSource
}

func databases(t *testing.T) map[string]map[string]string {
	env := func(extra map[string]string) map[string]string {
		m := map[string]string{"PARLEY_MAIL_FROM": "Support <hello@shop.example>", "PARLEY_INBOUND_DOMAIN": "reply.shop.test"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	dbs := map[string]map[string]string{"sqlite": env(nil)}
	if !testing.Short() {
		dbs["postgres"] = env(map[string]string{"PARLEY_DATABASE_URL": apptest.Postgres(t)})
	}
	return dbs
}

// An address a visitor writes in the widget becomes their email once, with
// an agents-only event; later addresses change nothing.
func TestEmailSharedInConversation(t *testing.T) {
	for name, env := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := apptest.Start(t, env)
			agent := s.AddAgent("ann@example.com", "Ann")
			s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			aws := s.DialAgent(agent.Token)
			sess := newVisitor(t, s)
			wws := s.DialWidget(sess.VisitorToken)

			wws.Send(map[string]string{"type": "message", "body": "Hi, I'd like a quote", "client_id": "1"})
			wws.WaitFor("message", 5*time.Second)
			wws.Send(map[string]string{"type": "message", "body": "It's (jo.doe@visitor.test).", "client_id": "2"})
			contact := wws.WaitFor("contact", 5*time.Second)
			if v, _ := contact["visitor"].(map[string]any); v["email"] != "jo.doe@visitor.test" || v["email_source"] != "conversation" {
				t.Fatalf("contact frame = %v", contact)
			}
			for {
				ev := aws.WaitFor("visitor.updated", 5*time.Second)
				if d, _ := ev["data"].(map[string]any); d["email"] == "jo.doe@visitor.test" {
					if d["email_source"] != "conversation" {
						t.Errorf("visitor.updated = %v", d)
					}
					break
				}
			}
			v := visitorOf(t, s, agent.Token, sess.Visitor.ID)
			if v.Email == nil || *v.Email != "jo.doe@visitor.test" || source(v) != "conversation" {
				t.Fatalf("visitor = %+v (source %s)", v, source(v))
			}

			// A later address is only offered, never replaces the first.
			conv := postWidget(t, s, sess.VisitorToken, "or my work one: jo@work.example.com")
			if v := visitorOf(t, s, agent.Token, sess.Visitor.ID); *v.Email != "jo.doe@visitor.test" {
				t.Errorf("a later address replaced the first: %s", *v.Email)
			}
			var events []string
			for _, m := range messagesOf(t, s, agent.Token, conv) {
				if m.Kind == model.KindEvent {
					events = append(events, m.Body)
				}
			}
			if len(events) != 1 || events[0] != "Email saved from the conversation: jo.doe@visitor.test" {
				t.Errorf("events = %q", events)
			}
			// The event is for agents only.
			var pub struct {
				Messages []model.Message `json:"messages"`
			}
			s.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, http.StatusOK, &pub)
			for _, m := range pub.Messages {
				if m.Kind != model.KindReply || strings.Contains(m.Body, "Email saved") {
					t.Errorf("the widget sees %+v", m)
				}
			}

			// The agent's undo clears it; the source goes with it.
			s.Do("PATCH", "/api/v1/visitors/"+sess.Visitor.ID, agent.Token, map[string]any{"email": nil}, http.StatusOK, nil)
			if v := visitorOf(t, s, agent.Token, sess.Visitor.ID); v.Email != nil || v.EmailSource != nil {
				t.Errorf("after undo: %+v", v)
			}
			// An agent's edit and the contact form say so.
			s.Do("PATCH", "/api/v1/visitors/"+sess.Visitor.ID, agent.Token, map[string]any{"email": "jo@work.example.com"}, http.StatusOK, nil)
			if v := visitorOf(t, s, agent.Token, sess.Visitor.ID); source(v) != "agent" {
				t.Errorf("after the agent's edit: source %s", source(v))
			}
			other := newVisitor(t, s)
			ows := s.DialWidget(other.VisitorToken)
			ows.Send(map[string]string{"type": "contact", "email": "kim@example.net"})
			ows.WaitFor("contact", 5*time.Second)
			if v := visitorOf(t, s, agent.Token, other.Visitor.ID); source(v) != "contact_form" {
				t.Errorf("after the contact form: source %s", source(v))
			}
		})
	}
}

// The workspace's own addresses, invalid ones and spelled-out ones are
// never taken; the visitor's own address after the workspace's is.
func TestEmailSharedNotTaken(t *testing.T) {
	s := apptest.Start(t, databases(t)["sqlite"])
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	for _, body := range []string{
		"I wrote to hello@shop.example already",
		"c-1@reply.shop.test bounced",
		"jo at visitor dot test",
		"jo\u200b@visitor.test",
		"see logo@2x.png",
	} {
		sess := newVisitor(t, s)
		postWidget(t, s, sess.VisitorToken, body)
		if v := visitorOf(t, s, agent.Token, sess.Visitor.ID); v.Email != nil {
			t.Errorf("%q gave the visitor the email %q", body, *v.Email)
		}
	}
	sess := newVisitor(t, s)
	postWidget(t, s, sess.VisitorToken, "hello@shop.example said to send mine: kim@visitor.test")
	if v := visitorOf(t, s, agent.Token, sess.Visitor.ID); v.Email == nil || *v.Email != "kim@visitor.test" {
		t.Errorf("visitor = %+v", v)
	}
}

// An address at the domain of the site the visitor is on names the shop
// ("I already wrote to hello@kettleandco.example"), not the visitor: it
// is not taken, and the visitor's own address after it is.
func TestEmailOfTheSiteIsNotTheVisitors(t *testing.T) {
	s := apptest.Start(t, databases(t)["sqlite"])
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	var sess widgetSession
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey, "page_url": "https://www.kettleandco.example/kettles?ref=mail"}, http.StatusOK, &sess)
	tests := []struct {
		body, want string // want: the visitor's email after the message
	}{
		{"I already wrote to hello@kettleandco.example last week", ""},
		{"and to orders@shop.kettleandco.example", ""},
		{"That is not my email! Mine is sam@example.org", "sam@example.org"},
	}
	for _, tt := range tests {
		postWidget(t, s, sess.VisitorToken, tt.body)
		got := ""
		if v := visitorOf(t, s, agent.Token, sess.Visitor.ID); v.Email != nil {
			got = *v.Email
		}
		if got != tt.want {
			t.Errorf("after %q: email %q, want %q", tt.body, got, tt.want)
		}
	}
}
