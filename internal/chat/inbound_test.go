package chat_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

const inboundSecret = "inbound-hook-secret"

// conversation opens a website conversation as a new visitor and returns
// its id.
func conversation(t *testing.T, s *apptest.Server) string {
	t.Helper()
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, http.StatusCreated, &m)
	return m.ConversationID
}

// postRaw posts a raw message through the inbound HTTP hook to rcpt and
// returns the status.
func postRaw(t *testing.T, s *apptest.Server, rcpt, raw string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/api/inbound/v1/mime?recipient="+url.QueryEscape(rcpt), strings.NewReader(raw))
	req.Header.Set("X-Parley-Inbound-Secret", inboundSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// postReply posts an email reply from sender to the conversation through
// the inbound HTTP hook and returns the status.
func postReply(t *testing.T, s *apptest.Server, conversationID, sender string, n int) int {
	t.Helper()
	rcpt := "reply+" + s.App.Chat.Signer().Sign(token.Reply, conversationID) + "@reply.localhost"
	raw := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: Re: hi\r\nMessage-ID: <r%d.%s@example.com>\r\n\r\nreply number %d\r\n", sender, rcpt, n, conversationID, n)
	req, _ := http.NewRequest("POST", s.URL+"/api/inbound/v1/mime?recipient="+url.QueryEscape(rcpt), strings.NewReader(raw))
	req.Header.Set("X-Parley-Inbound-Secret", inboundSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	return resp.StatusCode
}

// Attachments are kept by their content and an allowlist: HTML behind a
// trailing dot, server-side includes and XHTML sent as text/xml are not.
func TestEmailAttachmentTypes(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_INBOUND_SECRET": inboundSecret, "PARLEY_ATTACHMENTS_DIR": t.TempDir()})
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	conv := conversation(t, s)
	rcpt := "reply+" + s.App.Chat.Signer().Sign(token.Reply, conv) + "@reply.localhost"
	var pngData bytes.Buffer
	png.Encode(&pngData, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	part := func(ct, name, encoding, body string) string {
		return "--b\r\nContent-Type: " + ct + "\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
			"Content-Transfer-Encoding: " + encoding + "\r\n\r\n" + body + "\r\n"
	}
	raw := "From: <vera@example.com>\r\nTo: <" + rcpt + ">\r\nSubject: Re: hi\r\nMessage-ID: <att@example.com>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nHere are the files.\r\n" +
		part("application/octet-stream", "evil.html.", "7bit", "<b>click</b> <script>alert(document.cookie)</script>") +
		part("text/plain", "page.shtml", "7bit", `<!--#exec cmd="id" -->`) +
		part("text/xml", "page.xml", "7bit", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>`) +
		part("application/octet-stream", "photo.png", "base64", base64.StdEncoding.EncodeToString(pngData.Bytes())) +
		"--b--\r\n"
	if got := postRaw(t, s, rcpt, raw); got != http.StatusAccepted {
		t.Fatalf("status %d", got)
	}
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+conv+"/messages", agent.Token, nil, http.StatusOK, &out)
	var kept []string
	notes := 0
	for _, m := range out.Messages {
		for _, a := range m.Attachments {
			kept = append(kept, a.Filename+" "+a.ContentType)
		}
		if strings.Contains(m.Body, "was not kept") {
			notes++
		}
	}
	if len(kept) != 1 || kept[0] != "photo.png image/png" || notes != 3 {
		t.Errorf("kept %q and %d notes; want only photo.png as image/png and 3 notes", kept, notes)
	}
}

// Email replies are rate limited per visitor and per sender address, as
// widget messages are: a flood of replies is refused for now (429 on the
// hook, 451 over SMTP) instead of stored.
func TestEmailReplyRateLimits(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_INBOUND_SECRET": inboundSecret})
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	first := conversation(t, s)
	statuses := map[int]int{}
	for n := range 12 {
		statuses[postReply(t, s, first, "mallory@example.com", n)]++
	}
	if statuses[http.StatusAccepted] != 5 || statuses[http.StatusTooManyRequests] != 7 {
		t.Errorf("12 replies to one visitor: %v, want 5 accepted and 7 refused with 429", statuses)
	}
	// The same sender to another conversation: its own bucket (10) is
	// spent by the 12 attempts.
	second := conversation(t, s)
	if got := postReply(t, s, second, "mallory@example.com", 100); got != http.StatusTooManyRequests {
		t.Errorf("the flooding sender to another visitor: %d, want 429", got)
	}
	// Another sender to the second visitor is unaffected.
	if got := postReply(t, s, second, "vera@example.com", 101); got != http.StatusAccepted {
		t.Errorf("another sender: %d, want 202", got)
	}
}

// A visitor who answers an email has read the replies emailed to them:
// the widget stops counting them as unread. A reply written after the
// email, or whose email did not go out, stays unread.
func TestEmailAnswerReadsTheEmailedReplies(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_INBOUND_SECRET": inboundSecret})
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	var first model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, http.StatusCreated, &first)
	conv := first.ConversationID
	reply := func(body string) model.Message {
		var m model.Message
		s.Do("POST", "/api/v1/conversations/"+conv+"/messages", agent.Token, map[string]string{"body": body}, http.StatusCreated, &m)
		return m
	}
	ctx := t.Context()
	email := func(status string, replies ...model.Message) {
		t.Helper()
		now := time.Now()
		e := store.Email{ID: model.NewID(), WorkspaceID: s.Workspace.ID, ConversationID: conv, VisitorID: *first.Author.ID,
			MessageID: "<" + model.NewID() + "@example.test>", From: "parley@example.test", To: "vera@example.com",
			Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: now, CreatedAt: now}
		var ids []string
		for _, m := range replies {
			ids = append(ids, m.ID)
		}
		if err := s.App.DB.InTx(ctx, func(tx *store.Store) error {
			if err := tx.CreateEmail(ctx, e); err != nil {
				return err
			}
			return tx.MarkForwarded(ctx, ids, e.ID, e.To, now)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.DB.RecordEmailOutcomes(ctx, []store.EmailAttempt{{EmailID: e.ID, Status: status, At: now, Next: now}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	emailed, bounced := reply("It ships today."), reply("Tracking: 1Z999")
	email("sent", emailed)
	email("failed", bounced)
	later := reply("It left the depot.")
	if got := postReply(t, s, conv, "vera@example.com", 1); got != http.StatusAccepted {
		t.Fatalf("answer: status %d", got)
	}
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/widget/v1/messages?visitor_token="+url.QueryEscape(sess.VisitorToken), "", nil, http.StatusOK, &out)
	read := map[string]bool{}
	for _, m := range out.Messages {
		read[m.ID] = m.ReadByVisitorAt != nil
	}
	for _, tt := range []struct {
		what string
		m    model.Message
		want bool
	}{{"the emailed reply", emailed, true}, {"the reply whose email failed", bounced, false}, {"the reply after the email", later, false}} {
		if read[tt.m.ID] != tt.want {
			t.Errorf("%s: read %v, want %v", tt.what, read[tt.m.ID], tt.want)
		}
	}
}

// An email's attachments are a visitor's files, which anyone may send:
// they count in the visitors' half of the quota, and past it they are not
// kept (the agents get a note), while the agents' half stays theirs.
func TestEmailAttachmentsInVisitorsHalf(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_INBOUND_SECRET": inboundSecret, "PARLEY_ATTACHMENT_QUOTA": "4MiB"})
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	conv := conversation(t, s)
	rcpt := "reply+" + s.App.Chat.Signer().Sign(token.Reply, conv) + "@reply.localhost"
	mib := strings.Repeat(strings.Repeat("y", 63)+"\n", 1<<20/64-16) // a little under 1 MiB
	for i := range 3 {
		raw := fmt.Sprintf("From: <vera@example.com>\r\nTo: <%s>\r\nSubject: Re: hi\r\nMessage-ID: <half%d@example.com>\r\n"+
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFiles %d.\r\n"+
			"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log%d-a.txt\"\r\n\r\n%s\r\n"+
			"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log%d-b.txt\"\r\n\r\n%s\r\n--b--\r\n",
			rcpt, i, i, i, mib, i, mib)
		if got := postRaw(t, s, rcpt, raw); got != http.StatusAccepted {
			t.Fatalf("email %d: status %d", i, got)
		}
	}
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+conv+"/messages", agent.Token, nil, http.StatusOK, &out)
	kept, notes := 0, 0
	for _, m := range out.Messages {
		kept += len(m.Attachments)
		if m.Kind == model.KindEvent && strings.Contains(m.Body, "visitors' files fill their half") {
			notes++
		}
	}
	if kept != 2 || notes != 4 {
		t.Errorf("%d attachments kept and %d notes of the visitors' half; want 2 and 4", kept, notes)
	}

	// An agent's files still fit, in their half.
	for i := range 2 {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", fmt.Sprintf("reply%d.txt", i))
		fw.Write([]byte(mib))
		mw.Close()
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/conversations/"+conv+"/uploads", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+agent.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("agent's file %d: %d %s", i, resp.StatusCode, raw)
		}
	}
}
