package web_test

import (
	"net/http"
	"testing"
	"time"
)

// TestSeenByTheTeam: once an agent reads a conversation, the visitor's
// widget is told which of their messages the team has seen (a seen frame,
// and seen_id in the history it fetches); never an id of the team's own
// messages, and nothing before the team read the newest one.
func TestSeenByTheTeam(t *testing.T) {
	bothDatabases(t, func(t *testing.T, env map[string]string) {
		s, a := onlineAgent(t, env)
		sess := newSession(t, s, s.Workspace.SiteKey, "")
		w := s.DialWidget(sess.VisitorToken)
		history := func() (seen string) {
			t.Helper()
			var h struct {
				SeenID *string `json:"seen_id"`
			}
			s.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, http.StatusOK, &h)
			if h.SeenID == nil {
				return ""
			}
			return *h.SeenID
		}
		if got := history(); got != "" {
			t.Fatalf("seen_id %q before any conversation", got)
		}
		var first struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversation_id"`
		}
		s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hi", "client_id": "c1"}, http.StatusCreated, &first)
		conv := "/api/v1/conversations/" + first.ConversationID
		if got := history(); got != "" {
			t.Fatalf("seen_id %q before the team read the conversation", got)
		}

		// read has the agent read the conversation: the widget is told
		// the visitor's message want, and its history says so.
		read := func(want string) {
			t.Helper()
			s.Do("POST", conv+"/read", a.Token, nil, http.StatusOK, nil)
			if f := w.WaitFor("seen", 5*time.Second); f["message_id"] != want {
				t.Errorf("seen frame %v, want message_id %s", f, want)
			}
			if got := history(); got != want {
				t.Errorf("seen_id %q, want the visitor's message %s", got, want)
			}
		}
		read(first.ID)

		// A reply and an internal note after it: the visitor's newest
		// message is still the one seen, and a second read says so again
		// without naming the team's messages.
		s.Do("POST", conv+"/messages", a.Token, map[string]string{"body": "hello", "kind": "reply"}, http.StatusCreated, nil)
		s.Do("POST", conv+"/messages", a.Token, map[string]string{"body": "note", "kind": "comment"}, http.StatusCreated, nil)
		var second struct {
			ID string `json:"id"`
		}
		s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "thanks", "client_id": "c2"}, http.StatusCreated, &second)
		if got := history(); got != "" {
			t.Errorf("seen_id %q with the visitor's newest message unread", got)
		}
		read(second.ID)
	})
}
