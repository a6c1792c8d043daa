package chat_test

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// "Ask for email": a reply in the requested language, marked for the
// widget, refused once the visitor has an email.
func TestAskEmail(t *testing.T) {
	for name, env := range databases(t) {
		t.Run(name, func(t *testing.T) {
			s := apptest.Start(t, env)
			agent := s.AddAgent("ann@example.com", "Ann")
			s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			sess := newVisitor(t, s)
			conv := postWidget(t, s, sess.VisitorToken, "Hello, a question about shipping")

			tests := []struct {
				body any
				want string
			}{
				{nil, chat.AskEmailText("en")},
				{map[string]string{"locale": "fr-FR"}, "Pourriez-vous nous laisser votre adresse e-mail ?"},
				{map[string]string{"locale": "pt_BR"}, "Pode nos deixar seu endereço de e-mail?"},
				{map[string]string{"locale": "ja"}, "Could you leave your email address?"},
			}
			for _, tt := range tests {
				var m model.Message
				s.Do("POST", "/api/v1/conversations/"+conv+"/ask-email", agent.Token, tt.body, http.StatusCreated, &m)
				if !m.AsksEmail || m.Kind != model.KindReply || m.Author.Kind != model.AuthorAgent || !strings.HasPrefix(m.Body, tt.want) {
					t.Errorf("ask-email %v = %+v, want a marked reply starting %q", tt.body, m, tt.want)
				}
			}
			// Without a language given, the request speaks the visitor's.
			var frSess widgetSession
			s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey, "locale": "fr-CA"}, http.StatusOK, &frSess)
			frConv := postWidget(t, s, frSess.VisitorToken, "Bonjour")
			var fm model.Message
			s.Do("POST", "/api/v1/conversations/"+frConv+"/ask-email", agent.Token, nil, http.StatusCreated, &fm)
			if !strings.HasPrefix(fm.Body, "Pourriez-vous nous laisser votre adresse e-mail ?") {
				t.Errorf("a French-speaking visitor was asked %q", fm.Body)
			}

			// The widget sees the mark; agents see it in the conversation.
			var wm struct {
				Messages []model.Message `json:"messages"`
			}
			s.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, http.StatusOK, &wm)
			marked := 0
			for _, m := range wm.Messages {
				if m.AsksEmail {
					marked++
				}
			}
			if marked != len(tests) {
				t.Errorf("the widget sees %d marked messages, want %d", marked, len(tests))
			}
			msgs := messagesOf(t, s, agent.Token, conv)
			if !msgs[len(msgs)-1].AsksEmail || msgs[0].AsksEmail {
				t.Error("the mark is not kept on the stored messages")
			}

			// Refused: bad JSON, another workspace's agent, an identified visitor.
			raw := s.Do("POST", "/api/v1/conversations/"+conv+"/ask-email", agent.Token, "{", http.StatusBadRequest, nil)
			if c := apptest.ErrorCode(raw); c != "bad_request" {
				t.Errorf("bad JSON: code %q", c)
			}
			ws := model.Workspace{ID: model.NewID(), Name: "Other", SiteKey: "other-site", TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: time.Now()}
			if err := s.App.DB.CreateWorkspace(context.Background(), ws); err != nil {
				t.Fatal(err)
			}
			stranger := s.AddAgent("eve@example.com", "Eve", ws.ID)
			raw = s.Do("POST", "/api/v1/conversations/"+conv+"/ask-email", stranger.Token, nil, http.StatusNotFound, nil)
			if c := apptest.ErrorCode(raw); c != "not_found" {
				t.Errorf("another workspace: code %q", c)
			}
			if _, err := s.App.Chat.VisitorContact(context.Background(), sess.Visitor.ID, "jo@example.com", ""); err != nil {
				t.Fatal(err)
			}
			raw = s.Do("POST", "/api/v1/conversations/"+conv+"/ask-email", agent.Token, nil, http.StatusConflict, nil)
			if c := apptest.ErrorCode(raw); c != chat.CodeVisitorHasEmail {
				t.Errorf("identified visitor: code %q, want %s", c, chat.CodeVisitorHasEmail)
			}
			if n := len(messagesOf(t, s, agent.Token, conv)); n != len(msgs) {
				t.Errorf("a refused request stored a message: %d messages, want %d", n, len(msgs))
			}
		})
	}
}

// Every language has its own text.
func TestAskEmailTexts(t *testing.T) {
	seen := map[string]string{}
	for _, lang := range []string{"en", "fr", "de", "es", "it", "pt", "nl"} {
		text := chat.AskEmailText(lang)
		if other, ok := seen[text]; ok || text == "" {
			t.Errorf("%s and %s share the text %q", lang, other, text)
		}
		seen[text] = lang
		if got := chat.AskEmailText(strings.ToUpper(lang) + "-XX"); got != text {
			t.Errorf("%s-XX: %q, want %q", lang, got, text)
		}
	}
	for _, tag := range []string{"", "x", "zz-ZZ", "-fr", "french"} {
		if got := chat.AskEmailText(tag); got != chat.AskEmailText("en") {
			t.Errorf("%q: %q, want English", tag, got)
		}
	}
}

// The continuity report counts what the visitors did, as it happens:
// identified visitors by source, an answer by email, a return to the widget
// after an email; and refuses bad ranges with clear codes.
func TestContinuityReportAPI(t *testing.T) {
	for name, env := range databases(t) {
		t.Run(name, func(t *testing.T) {
			env := mapWith(env, "PARLEY_INBOUND_SECRET", inboundSecret)
			env["PARLEY_INBOUND_DOMAIN"] = "reply.localhost" // postReply's
			s := apptest.Start(t, env)
			agent := s.AddAgent("ann@example.com", "Ann")
			s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			ctx := context.Background()

			plain := newVisitor(t, s)
			postWidget(t, s, plain.VisitorToken, "Hello")
			shared := newVisitor(t, s)
			postWidget(t, s, shared.VisitorToken, "It's jo@visitor.test")

			// emailed sends an email of the conversation (as the outbox
			// records it) to a visitor identified by the contact form.
			emailed := func(addr string) widgetSession {
				t.Helper()
				sess := newVisitor(t, s)
				if _, err := s.App.Chat.VisitorContact(ctx, sess.Visitor.ID, addr, ""); err != nil {
					t.Fatal(err)
				}
				conv := postWidget(t, s, sess.VisitorToken, "Hi")
				now := time.Now()
				e := store.Email{ID: model.NewID(), WorkspaceID: s.Workspace.ID, ConversationID: conv, VisitorID: sess.Visitor.ID,
					MessageID: "<" + conv + "@parley.test>", From: "hello@parley.test", To: addr, Raw: []byte("x"), NextAttemptAt: now, CreatedAt: now}
				if err := s.App.DB.CreateEmail(ctx, e); err != nil {
					t.Fatal(err)
				}
				if _, err := s.App.DB.SetEmailStatus(ctx, e.ID, "sent", now, "", now); err != nil {
					t.Fatal(err)
				}
				return sess
			}
			// Kim answers by email, then comes back and writes in the widget.
			kim := emailed("kim@visitor.test")
			if st := postReply(t, s, latestConversation(t, s, agent.Token, kim.Visitor.ID), "kim@visitor.test", 1); st != http.StatusAccepted {
				t.Fatalf("email answer: status %d", st)
			}
			postWidget(t, s, kim.VisitorToken, "Back on the site")
			postWidget(t, s, plain.VisitorToken, "No email was sent to me") // no return: nothing was emailed
			// Lou opens the widget again on a new visit: a return.
			lou := emailed("lou@visitor.test")
			s.App.Chat.VisitorConnected(ctx, lou.Visitor.Key(), 1)
			// Mo only changes page (the connection closes and another
			// opens within the grace period): no return.
			mo := emailed("mo@visitor.test")
			s.App.Chat.VisitorDisconnected(ctx, mo.Visitor.ID, 0)
			s.App.Chat.VisitorConnected(ctx, mo.Visitor.Key(), 1)

			today := time.Now().In(s.Workspace.Location()).Format(time.DateOnly)
			var rep chat.ContinuityReport
			s.Do("GET", "/api/v1/reports/continuity?from="+today+"&to="+today, agent.Token, nil, http.StatusOK, &rep)
			if len(rep.Days) != 1 || rep.Days[0].Date != today {
				t.Fatalf("days = %+v, want only %s", rep.Days, today)
			}
			d := rep.Days[0]
			want := map[string]int{"contact_form": 3, "conversation": 1, "agent": 0, "identity": 0, "unknown": 0}
			if d.Conversations != 5 || d.IdentifiedTotal != 4 || !maps.Equal(d.Identified, want) ||
				d.Emails.Sent != 3 || d.AnsweredByEmail != 1 || d.Returned != 2 {
				t.Errorf("today = %+v", d)
			}
			if rep.Totals.Conversations != 5 || rep.TimeZone != s.Workspace.Location().String() {
				t.Errorf("totals = %+v in %s", rep.Totals, rep.TimeZone)
			}

			// 366 days is the longest range.
			from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			s.Do("GET", "/api/v1/reports/continuity?from=2024-01-01&to="+from.AddDate(0, 0, 365).Format(time.DateOnly), agent.Token, nil, http.StatusOK, &rep)
			if len(rep.Days) != 366 || rep.Days[365].Date != "2024-12-31" {
				t.Errorf("a leap year: %d days, last %s", len(rep.Days), rep.Days[len(rep.Days)-1].Date)
			}
			bad := []struct{ query, code string }{
				{"", chat.CodeInvalidDate},
				{"from=2024-01-01", chat.CodeInvalidDate},
				{"from=2024-02-30&to=2024-03-01", chat.CodeInvalidDate},
				{"from=2024-1-1&to=2024-01-02", chat.CodeInvalidDate},
				{"from=yesterday&to=2024-01-02", chat.CodeInvalidDate},
				{"from=2024-01-02&to=2024-01-01", chat.CodeInvalidRange},
				{"from=2024-01-01&to=2025-01-01", chat.CodeInvalidRange},
				{"from=0001-01-01&to=9999-12-31", chat.CodeInvalidRange},
			}
			for _, b := range bad {
				raw := s.Do("GET", "/api/v1/reports/continuity?"+b.query, agent.Token, nil, http.StatusBadRequest, nil)
				if c := apptest.ErrorCode(raw); c != b.code {
					t.Errorf("%q: code %q, want %s", b.query, c, b.code)
				}
			}
		})
	}
}

func mapWith(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

// latestConversation returns the id of the visitor's newest conversation.
func latestConversation(t *testing.T, s *apptest.Server, agentTok, visitorID string) string {
	t.Helper()
	var out struct {
		Conversations []model.Conversation `json:"conversations"`
	}
	s.Do("GET", "/api/v1/conversations?status=all", agentTok, nil, http.StatusOK, &out)
	for _, c := range out.Conversations {
		if c.Visitor.ID == visitorID {
			return c.ID
		}
	}
	t.Fatalf("no conversation of visitor %s", visitorID)
	return ""
}
