package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestNULRefused: text holding the NUL character, which PostgreSQL cannot
// store and no person writes, is refused as a bad request wherever it
// comes in (a JSON body, a path, a query, a form, a WebSocket frame), the
// same on both databases, and nothing is stored; the six characters
// "\u0000" typed as text are a message like any other.
func TestNULRefused(t *testing.T) {
	bothDatabases(t, func(t *testing.T, env map[string]string) {
		s, a, sess, m := chattingOn(t, env)
		conv := "/api/v1/conversations/" + m.ConversationID

		tests := []struct {
			name, method, path, token string
			body                      any
		}{
			{"a site key in the query", "GET", "/api/widget/v1/look?site_key=%00", "", nil},
			{"a site key in a body", "POST", "/api/widget/v1/session", "", map[string]string{"site_key": "\x00"}},
			{"a login", "POST", "/api/v1/auth/login", "", map[string]string{"email": "\x00", "password": "x"}},
			{"a visitor's message", "POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "a\x00b", "client_id": "c2"}},
			{"a message's client id", "POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "ab", "client_id": "c\x003"}},
			{"a conversation's id in the path", "GET", "/api/v1/conversations/ab%00cd", a.Token, nil},
			{"a filter in the query", "GET", "/api/v1/conversations?assignee=%00", a.Token, nil},
			{"an agent's reply", "POST", conv + "/messages", a.Token, map[string]string{"body": "x\x00y", "kind": "reply"}},
			{"a canned reply", "POST", "/api/v1/canned", a.Token, map[string]string{"shortcut": "hi", "body": "\x00"}},
		}
		for _, tc := range tests {
			raw := s.Do(tc.method, tc.path, tc.token, tc.body, http.StatusBadRequest, nil)
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, "NUL") {
				t.Errorf("%s: %s, want a bad_request naming the NUL character", tc.name, raw)
			}
		}

		// A form: the dashboard's sign-in.
		res, err := http.PostForm(s.URL+"/dashboard/login", url.Values{"email": {"ann@example.com\x00"}, "password": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("sign-in form with a NUL: %d, want 400", res.StatusCode)
		}

		// A widget's frame, and the same text without the character.
		w := s.DialWidget(sess.VisitorToken)
		w.Send(map[string]string{"type": "message", "body": "a\x00b", "client_id": "c4"})
		f := w.WaitFor("error", 5*time.Second)
		if f["code"] != "bad_frame" || f["client_id"] != "c4" || !strings.Contains(f["message"].(string), "NUL") {
			t.Errorf("error frame %v, want bad_frame for c4 naming the NUL character", f)
		}
		w.Send(map[string]string{"type": "message", "body": `typed \u0000`, "client_id": "c5"})
		w.WaitFor("message", 5*time.Second)

		var list struct {
			Messages []struct{ Body string } `json:"messages"`
		}
		s.Do("GET", conv+"/messages", a.Token, nil, http.StatusOK, &list)
		var bodies []string
		for _, msg := range list.Messages {
			bodies = append(bodies, msg.Body)
		}
		if got, want := strings.Join(bodies, "|"), m.Body+`|typed \u0000`; got != want {
			t.Errorf("stored messages %q, want %q: the first and the typed text only", got, want)
		}
	})
}
