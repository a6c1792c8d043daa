package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
)

type cannedReply struct {
	ID       string `json:"id"`
	Shortcut string `json:"shortcut"`
	Body     string `json:"body"`
}

func TestCannedReplies(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		bob := s.AddAgent("bob@example.com", "Bob")
		other, err := s.App.Chat.CreateWorkspace(context.Background(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		eve := s.AddAgent("eve@example.com", "Eve", other.ID)

		var hi cannedReply
		s.Do("POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "hi", "body": "Hello! How can I help?"}, http.StatusCreated, &hi)
		if hi.ID == "" || hi.Shortcut != "hi" || hi.Body != "Hello! How can I help?" {
			t.Fatalf("created %+v", hi)
		}
		// The same shortcut in another workspace is another reply.
		s.Do("POST", "/api/v1/canned", eve.Token, map[string]string{"shortcut": "hi", "body": "Other workspace"}, http.StatusCreated, nil)

		refused := []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"taken shortcut", "POST", "/api/v1/canned", bob.Token, map[string]string{"shortcut": "hi", "body": "x"}, 409, "already_exists"},
			{"empty shortcut", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "", "body": "x"}, 400, "invalid_shortcut"},
			{"upper case", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "Hi", "body": "x"}, 400, "invalid_shortcut"},
			{"a space", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "a b", "body": "x"}, 400, "invalid_shortcut"},
			{"33 characters", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": strings.Repeat("a", 33), "body": "x"}, 400, "invalid_shortcut"},
			{"a slash", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "/hi2", "body": "x"}, 400, "invalid_shortcut"},
			{"empty body", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "empty", "body": "  "}, 400, "empty_message"},
			{"long body", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "long", "body": strings.Repeat("x", 10001)}, 400, "message_too_long"},
			{"malformed JSON", "POST", "/api/v1/canned", ann.Token, `{"shortcut":`, 400, "bad_request"},
			{"not a variable", "POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "hey", "body": "Hi {{name}}"}, 400, "invalid_variable"},
			{"not a variable, changed", "PATCH", "/api/v1/canned/" + hi.ID, ann.Token, map[string]string{"body": "Hi {{visitor.nickname | you}}"}, 400, "invalid_variable"},
			{"no token", "GET", "/api/v1/canned", "", nil, 401, "invalid_token"},
			{"rename onto a taken shortcut", "PATCH", "/api/v1/canned/" + hi.ID, ann.Token, map[string]string{"shortcut": "bye"}, 409, "already_exists"},
			{"another workspace's reply", "PATCH", "/api/v1/canned/" + hi.ID, eve.Token, map[string]string{"body": "mine now"}, 404, "not_found"},
			{"delete another workspace's reply", "DELETE", "/api/v1/canned/" + hi.ID, eve.Token, nil, 404, "not_found"},
			{"no such reply", "DELETE", "/api/v1/canned/nope", ann.Token, nil, 404, "not_found"},
		}
		s.Do("POST", "/api/v1/canned", ann.Token, map[string]string{"shortcut": "bye", "body": "Goodbye {{visitor.first_name | friend}}, from {{agent.first_name}}"}, http.StatusCreated, nil)
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				raw := s.Do(tt.method, tt.path, tt.token, tt.body, tt.status, nil)
				if got := apptest.ErrorCode(raw); got != tt.code {
					t.Errorf("code %q, want %q (%s)", got, tt.code, raw)
				}
			})
		}

		var list struct {
			Canned []cannedReply `json:"canned"`
		}
		s.Do("GET", "/api/v1/canned", bob.Token, nil, http.StatusOK, &list)
		if len(list.Canned) != 2 || list.Canned[0].Shortcut != "bye" || list.Canned[1].Shortcut != "hi" || list.Canned[1].Body != "Hello! How can I help?" {
			t.Fatalf("list %+v", list.Canned)
		}

		var got cannedReply
		s.Do("PATCH", "/api/v1/canned/"+hi.ID, ann.Token, map[string]string{"body": "Hi there"}, http.StatusOK, &got)
		if got.Shortcut != "hi" || got.Body != "Hi there" {
			t.Fatalf("patched %+v", got)
		}
		s.Do("PATCH", "/api/v1/canned/"+hi.ID, ann.Token, map[string]string{"shortcut": "hello"}, http.StatusOK, &got)
		if got.Shortcut != "hello" || got.Body != "Hi there" {
			t.Fatalf("renamed %+v", got)
		}
		s.Do("DELETE", "/api/v1/canned/"+hi.ID, ann.Token, nil, http.StatusNoContent, nil)
		s.Do("GET", "/api/v1/canned", ann.Token, nil, http.StatusOK, &list)
		if len(list.Canned) != 1 || list.Canned[0].Shortcut != "bye" {
			t.Fatalf("after delete %+v", list.Canned)
		}
		// The shortcut is free again.
		s.Do("POST", "/api/v1/canned", bob.Token, map[string]string{"shortcut": "hi", "body": "Hey"}, http.StatusCreated, nil)
	})
}
