package web_test

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

// postEmail delivers a raw email answer to a conversation's reply address
// through the HTTP hook.
func postEmail(t *testing.T, s *apptest.Server, conv, messageID, body string) {
	t.Helper()
	to := "reply+" + s.App.Chat.Signer().Sign(token.Reply, conv) + "@reply.localhost"
	raw := "From: Vera <vera@example.net>\r\nTo: " + to + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", "Re: Your order <b>") +
		"\r\nMessage-ID: <" + messageID + ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n")
	req, err := http.NewRequest("POST", s.URL+"/api/inbound/v1/mime?recipient="+url.QueryEscape(to), strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Parley-Inbound-Secret", "hook-secret-of-the-tests")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("inbound hook: status %d", resp.StatusCode)
	}
}

// An email answer keeps its whole text beside the message: agents of the
// workspace read it, anyone else gets 404, and an answer whose end looks
// like an older email with no quote marker found is flagged.
func TestEmailOriginal(t *testing.T) {
	eachDB(t, map[string]string{"PARLEY_INBOUND_SECRET": "hook-secret-of-the-tests"}, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		online(t, s, ann)
		conv := visitorWrote(t, s, "hello")

		quoted := "Thanks, that works.\n\nOn Mon, 4 Jan 2016 at 19:03, Ann <reply@example.com> wrote:\n> Try restarting <script>alert(1)</script>"
		long := strings.Repeat("A line of my own answer about the order.\n", 12)
		unsure := long + "\nΑπό: ACME <reply@acme.example>\nΣτάλθηκε: Δευτέρα\nΠρος: Jane\nΘέμα: Παραγγελία\n\nOld text"
		postEmail(t, s, conv, "quoted@example.net", quoted)
		postEmail(t, s, conv, "unsure@example.net", unsure)

		var list struct {
			Messages []model.Message `json:"messages"`
		}
		s.Do("GET", "/api/v1/conversations/"+conv+"/messages", ann.Token, nil, http.StatusOK, &list)
		byBody := map[string]model.Message{}
		for _, m := range list.Messages {
			if m.Channel == model.MsgChannelEmail {
				byBody[strings.SplitN(m.Body, "\n", 2)[0]] = m
			}
		}
		plain, flagged := byBody["Thanks, that works."], byBody["A line of my own answer about the order."]
		if plain.ID == "" || flagged.ID == "" {
			t.Fatalf("email answers not found: %+v", list.Messages)
		}
		if plain.MayHoldQuote || !flagged.MayHoldQuote {
			t.Errorf("may_hold_quote: quoted answer %v (want false), unsure answer %v (want true)", plain.MayHoldQuote, flagged.MayHoldQuote)
		}

		var o model.EmailOriginal
		s.Do("GET", "/api/v1/conversations/"+conv+"/messages/"+plain.ID+"/original", ann.Token, nil, http.StatusOK, &o)
		if o.Text != quoted || o.Subject != "Re: Your order <b>" || o.MayHoldQuote || o.ConversationID != conv {
			t.Errorf("original of the quoted answer: %+v", o)
		}
		s.Do("GET", "/api/v1/conversations/"+conv+"/messages/"+flagged.ID+"/original", ann.Token, nil, http.StatusOK, &o)
		if !o.MayHoldQuote || o.Text != strings.TrimSpace(unsure) {
			t.Errorf("original of the unsure answer: %+v", o)
		}

		// The dashboard flags the answer and shows its original as text.
		b := newBrowser(t, s)
		b.login("ann@example.com")
		page := b.get("/dashboard/conversations/" + conv)
		mustContain(t, "conversation", page.Body, `data-testid="may-hold-quote"`,
			`href="/dashboard/conversations/`+conv+`/messages/`+plain.ID+`/original"`)
		if n := strings.Count(page.Body, `data-testid="may-hold-quote"`); n != 1 {
			t.Errorf("%d answers flagged on the conversation page, want 1", n)
		}
		orig := b.get("/dashboard/conversations/" + conv + "/messages/" + plain.ID + "/original")
		if orig.Status != http.StatusOK {
			t.Fatalf("original page: status %d", orig.Status)
		}
		mustContain(t, "original page", orig.Body, "Try restarting &lt;script&gt;alert(1)&lt;/script&gt;", "Re: Your order &lt;b&gt;")
		mustNotContain(t, "original page", orig.Body, "<script>alert(1)")

		other := visitorWrote(t, s, "another")
		ws, err := s.App.Chat.CreateWorkspace(context.Background(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		stranger := s.AddAgent("sam@example.org", "Sam", ws.ID)
		for _, tc := range []struct{ name, path, tok string }{
			{"another workspace's agent", "/api/v1/conversations/" + conv + "/messages/" + plain.ID + "/original", stranger.Token},
			{"through another conversation", "/api/v1/conversations/" + other + "/messages/" + plain.ID + "/original", ann.Token},
			{"a message with no original", "/api/v1/conversations/" + conv + "/messages/" + list.Messages[0].ID + "/original", ann.Token},
		} {
			if status, code, _ := call(t, s, "GET", tc.path, tc.tok, nil); status != http.StatusNotFound || code != "not_found" {
				t.Errorf("%s: %d %s, want 404 not_found", tc.name, status, code)
			}
		}
	})
}
