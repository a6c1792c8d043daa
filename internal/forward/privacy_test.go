package forward_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// TestExportThenErase: an admin exports a visitor's data as one document,
// then erases them: their conversation, messages, attachment files and
// unsent emails are gone, the reply address of an email already sent is
// refused by the SMTP server (550) and the HTTP hook (404), and agents
// are told visitor.deleted. Unknown and other workspaces' visitors answer
// 404. On SQLite and PostgreSQL.
func TestExportThenErase(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			inboundAddr := apptest.FreeAddr(t)
			files := t.TempDir()
			env := map[string]string{"PARLEY_INBOUND_SMTP_ADDR": inboundAddr, "PARLEY_INBOUND_SECRET": "hook-secret-of-the-tests",
				"PARLEY_ATTACHMENTS_DIR": files}
			if db == "postgres" {
				env["PARLEY_DATABASE_URL"] = apptest.Postgres(t)
			}
			w := newWorld(t, env)
			v := w.visitorChats("vera@example.com")
			v.say("My address is 1 Main Street")
			v.leave()
			w.reply(v.conv, "Your order shipped today")
			fwd := w.relay.Wait(t, 1, 10*time.Second)[0]
			replyTo, err := mail.ParseAddress(fwd.Msg.Header.Get("Reply-To"))
			if err != nil {
				t.Fatal(err)
			}
			// An answer with a file, so that there is an attachment to erase.
			raw := []byte(strings.ReplaceAll("From: Vera <vera@example.com>\nTo: "+replyTo.Address+
				"\nSubject: Re: order\nMessage-ID: <with-file@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"+
				"--b1\nContent-Type: text/plain; charset=UTF-8\n\nHere is the receipt.\n\n"+
				"--b1\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"receipt.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IK\n--b1--\n", "\n", "\r\n"))
			if err := sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw); err != nil {
				t.Fatalf("answer before erasure refused: %v", err)
			}
			var att model.Attachment
			apptest.Eventually(t, 5*time.Second, "the answer with its file", func() bool {
				for _, m := range w.messages(v.conv) {
					if len(m.Attachments) > 0 {
						att = m.Attachments[0]
					}
				}
				return att.ID != ""
			})
			// Another reply whose email the relay keeps refusing for now:
			// queued in the outbox, retried; erasure must drop it.
			w.relay.RefuseNext(1 << 20)
			w.reply(v.conv, "One more thing")
			apptest.Eventually(t, 10*time.Second, "the second email tried and refused", func() bool { return w.relay.Attempts() >= 2 })

			var ex struct {
				Visitor struct {
					ID    string  `json:"id"`
					Email *string `json:"email"`
				} `json:"visitor"`
				Conversations []model.Conversation `json:"conversations"`
				Messages      []model.Message      `json:"messages"`
				Pages         []json.RawMessage    `json:"pages"`
				Attachments   []struct {
					ID        string `json:"id"`
					MessageID string `json:"message_id"`
					Filename  string `json:"filename"`
					Size      int64  `json:"size"`
				} `json:"attachments"`
			}
			w.s.Do("GET", "/api/v1/visitors/"+v.id+"/export", w.agent.Token, nil, 200, &ex)
			if ex.Visitor.ID != v.id || ex.Visitor.Email == nil || *ex.Visitor.Email != "vera@example.com" {
				t.Errorf("exported visitor %+v", ex.Visitor)
			}
			if len(ex.Conversations) != 1 || ex.Conversations[0].ID != v.conv {
				t.Errorf("exported conversations %+v", ex.Conversations)
			}
			bodies := ""
			for _, m := range ex.Messages {
				bodies += m.Body + "|"
			}
			for _, want := range []string{"1 Main Street", "Your order shipped today", "Here is the receipt.", "One more thing"} {
				if !strings.Contains(bodies, want) {
					t.Errorf("export lacks %q: %s", want, bodies)
				}
			}
			if len(ex.Attachments) != 1 || ex.Attachments[0].Filename != "receipt.pdf" || ex.Attachments[0].Size == 0 || ex.Pages == nil {
				t.Errorf("exported attachments %+v, pages %v", ex.Attachments, ex.Pages)
			}

			// Another workspace cannot see or erase the visitor.
			other, err := w.s.App.Chat.CreateWorkspace(t.Context(), "Other")
			if err != nil {
				t.Fatal(err)
			}
			bob := w.s.AddAgent("bob@example.com", "Bob", other.ID)
			for _, call := range []struct{ method, path, token string }{
				{"DELETE", "/api/v1/visitors/" + v.id, bob.Token},
				{"GET", "/api/v1/visitors/" + v.id + "/export", bob.Token},
				{"DELETE", "/api/v1/visitors/" + model.NewID(), w.agent.Token},
				{"GET", "/api/v1/visitors/" + model.NewID() + "/export", w.agent.Token},
			} {
				if code := apptest.ErrorCode(w.s.Do(call.method, call.path, call.token, nil, 404, nil)); code != "not_found" {
					t.Errorf("%s %s by another workspace: code %q", call.method, call.path, code)
				}
			}

			agentWS := w.s.DialAgent(w.agent.Token)
			w.s.Do("DELETE", "/api/v1/visitors/"+v.id, w.agent.Token, nil, http.StatusNoContent, nil)
			for {
				ev := agentWS.Next(5 * time.Second)
				if ev["type"] != "visitor.deleted" {
					continue
				}
				if d, _ := ev["data"].(map[string]any); d["id"] != v.id {
					t.Errorf("visitor.deleted for %v", d)
				}
				break
			}

			// Everything is gone.
			w.s.Do("GET", "/api/v1/visitors/"+v.id, w.agent.Token, nil, 404, nil)
			w.s.Do("GET", "/api/v1/conversations/"+v.conv, w.agent.Token, nil, 404, nil)
			w.s.Do("GET", "/api/v1/attachments/"+att.ID, w.agent.Token, nil, 404, nil)
			w.s.Do("DELETE", "/api/v1/visitors/"+v.id, w.agent.Token, nil, 404, nil)
			if _, err := os.Stat(files + "/" + att.ID); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(files)
				t.Errorf("attachment file still on disk (%v): %v", err, entries)
			}
			emails, err := w.s.App.DB.Emails(t.Context(), v.conv)
			if err != nil || len(emails) != 0 {
				t.Errorf("emails left: %d (%v)", len(emails), err)
			}

			// The reply address is refused for good, by SMTP and by the hook.
			err = sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw)
			var serr *smtp.SMTPError
			if !errors.As(err, &serr) || serr.Code != 550 {
				t.Errorf("answer after erasure: %v, want 550", err)
			}
			req, _ := http.NewRequest("POST", w.s.URL+"/api/inbound/v1/mime?recipient="+replyTo.Address, strings.NewReader(string(raw)))
			req.Header.Set("X-Parley-Inbound-Secret", "hook-secret-of-the-tests")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("hook after erasure: %d, want 404", resp.StatusCode)
			}
			// The queued email is not sent once the relay accepts again.
			w.relay.RefuseNext(0)
			w.noMail(1, 2*leftAfter)
		})
	}
}
