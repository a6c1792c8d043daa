package webhook_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// TestSystemNotesReachWebhooks: the lines Parley writes in a conversation
// (who closed, reopened or assigned it, an email saved from a visitor's
// message, a visitor or a reply reopening it, an agent removed from the
// team) reach webhooks as message.created, in the conversation's order: a
// note before the conversation.updated of the same change.
func TestSystemNotesReachWebhooks(t *testing.T) {
	for name, dbURL := range databases(t) {
		t.Run(name, func(t *testing.T) {
			rcv := newFlaky(t, 0, 0)
			s, ann, _ := startHooked(t, dbURL(t), rcv, "message.created", "conversation.updated")
			conv := func(id, action string) {
				s.Do("POST", "/api/v1/conversations/"+id+"/"+action, ann.Token, nil, http.StatusOK, nil)
			}
			assign := func(id string, to *string) {
				s.Do("PUT", "/api/v1/conversations/"+id+"/assignee", ann.Token, map[string]any{"agent_id": to}, http.StatusOK, nil)
			}
			reply := func(id, body string) {
				s.Do("POST", "/api/v1/conversations/"+id+"/messages", ann.Token, map[string]string{"body": body}, http.StatusCreated, nil)
			}
			const msg, updated = "message.created: ", "conversation.updated: "
			tests := []struct {
				name string
				// do acts on the conversation id that a visitor opened
				// with "Hello" (visitor: their token).
				do   func(id, visitor string)
				want []string // after "Hello"
			}{
				{"closed", func(id, _ string) { conv(id, "close") },
					[]string{msg + "Ann closed the conversation.", updated + "closed"}},
				{"closed and reopened", func(id, _ string) { conv(id, "close"); conv(id, "reopen") },
					[]string{msg + "Ann closed the conversation.", updated + "closed", msg + "Ann reopened the conversation.", updated + "open"}},
				{"taken and given up", func(id, _ string) { assign(id, &ann.ID); assign(id, nil) },
					[]string{msg + "Ann took the conversation.", msg + "Ann gave up the conversation."}},
				{"an email saved from a message", func(_, visitor string) { say(t, s, visitor, "Reach me at vera@example.org please") },
					[]string{msg + "Reach me at vera@example.org please", msg + "Email saved from the conversation: vera@example.org"}},
				{"reopened by the visitor", func(id, visitor string) { conv(id, "close"); say(t, s, visitor, "Back again") },
					[]string{msg + "Ann closed the conversation.", updated + "closed",
						msg + "Back again", msg + "The visitor wrote again: the conversation is open again.", updated + "open"}},
				{"reopened by a reply", func(id, _ string) { conv(id, "close"); reply(id, "One more thing") },
					[]string{msg + "Ann closed the conversation.", updated + "closed",
						msg + "One more thing", msg + "Ann reopened the conversation by replying.", updated + "open"}},
				{"its agent removed from the team", func(id, _ string) {
					ben := s.AddAgent("ben@example.com", "Ben")
					assign(id, &ben.ID)
					s.Do("DELETE", "/api/v1/agents/"+ben.ID, ann.Token, nil, http.StatusNoContent, nil)
				}, []string{msg + "Ann assigned the conversation to Ben.", msg + "Ben was removed from the team: nobody has the conversation now."}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					v := newVisitor(t, s)
					id := say(t, s, v, "Hello").ConversationID
					tt.do(id, v)
					want := append([]string{msg + "Hello"}, tt.want...)
					var got []string
					read := func() bool {
						got = nil
						for _, h := range rcv.delivered() {
							if h.ConversationID != id {
								continue
							}
							var ev struct {
								Data struct {
									Body   string `json:"body"`
									Kind   string `json:"kind"`
									Status string `json:"status"`
									Author struct {
										Kind string `json:"kind"`
									} `json:"author"`
								} `json:"data"`
							}
							if err := json.Unmarshal(h.Body, &ev); err != nil {
								t.Fatal(err)
							}
							switch h.Type {
							case "message.created":
								got = append(got, msg+ev.Data.Body)
								if ev.Data.Author.Kind == model.AuthorSystem && ev.Data.Kind != model.KindEvent {
									t.Errorf("a system note of kind %q", ev.Data.Kind)
								}
							default:
								got = append(got, h.Type+": "+ev.Data.Status)
							}
						}
						return len(got) >= len(want)
					}
					for deadline := time.Now().Add(5 * time.Second); !read() && time.Now().Before(deadline); {
						time.Sleep(20 * time.Millisecond)
					}
					time.Sleep(50 * time.Millisecond) // nothing more follows
					read()
					if !slices.Equal(got, want) {
						t.Errorf("delivered\n  %q\nwant\n  %q", got, want)
					}
				})
			}
		})
	}
}
