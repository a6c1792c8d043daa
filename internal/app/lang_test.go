package app_test

import (
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// mailParts returns the decoded text and HTML parts of a relayed email.
func mailParts(t *testing.T, m apptest.Mail) (text, html string) {
	t.Helper()
	parts, err := m.Parts()
	if err != nil {
		t.Fatalf("decode the mail: %v", err)
	}
	return parts["text/plain"], parts["text/html"]
}

// Forwarded emails in each of the seven languages, through a real SMTP
// relay on loopback: the subject, Content-Language, <html lang> and the
// reply's time in the visitor's zone, named.
func TestForwardedEmailInEveryLanguage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for forwarded emails")
	}
	relay := apptest.StartRelay(t)
	s := apptest.Start(t, map[string]string{
		"PARLEY_SMTP_URL":           relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER": "1s",
		"PARLEY_FORWARD_IDLE_AFTER": "2s",
		"PARLEY_FORWARD_QUIET":      "300ms",
		"PARLEY_VISITOR_GRACE":      "200ms",
		"PARLEY_MAIL_RETRY_BASE":    "100ms",
	})
	const wait = 20 * time.Second
	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/settings", agent.Token, map[string]any{"workspace_name": "Acme", "time_zone": "Asia/Tokyo"}, http.StatusOK, nil)
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)

	cases := []struct {
		locale, zone, subject, zoneName, words string
	}{
		{"en-GB", "Europe/London", "Your conversation with Acme", "GMT", "Reply to this email"},
		{"fr-FR", "Europe/Paris", "Votre conversation avec Acme", "CET", "Répondez à cet e-mail"},
		{"de-DE", "Europe/Berlin", "Ihre Unterhaltung mit Acme", "CET", "Antworten Sie auf diese E-Mail"},
		{"es-MX", "America/Mexico_City", "Tu conversación con Acme", "CST", "Responde a este correo"},
		{"it-IT", "Europe/Rome", "La tua conversazione con Acme", "CET", "Rispondi a questa email"},
		{"pt-BR", "America/New_York", "Sua conversa com Acme", "EST", "Responda a este e-mail"},
		{"nl-NL", "", "Je gesprek met Acme", "JST", "Beantwoord deze e-mail"}, // no zone from the browser: the workspace's
	}
	for i, c := range cases {
		var sess struct {
			VisitorToken string        `json:"visitor_token"`
			Visitor      model.Visitor `json:"visitor"`
			Locale       string        `json:"locale"`
		}
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey, "locale": c.locale, "time_zone": c.zone}, http.StatusOK, &sess)
		if want := c.locale[:2]; sess.Locale != want {
			t.Fatalf("%s: session locale %q", c.locale, sess.Locale)
		}
		widget := s.DialWidget(sess.VisitorToken)
		addr := "visitor" + string(rune('a'+i)) + "@example.net"
		widget.Send(map[string]string{"type": "contact", "email": addr, "name": "Sam"})
		widget.WaitFor("contact", wait)
		var first model.Message
		s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Hello", "client_id": model.NewID()}, http.StatusCreated, &first)
		s.Do("POST", "/api/v1/conversations/"+first.ConversationID+"/messages", agent.Token, map[string]string{"body": "Here is the answer.", "kind": "reply"}, http.StatusCreated, nil)
		widget.Close()
	}
	mails := relay.Wait(t, len(cases), wait)
	byTo := map[string]apptest.Mail{}
	for _, m := range mails {
		byTo[m.To[0]] = m
	}
	var dec mime.WordDecoder
	for i, c := range cases {
		t.Run(c.locale, func(t *testing.T) {
			m, ok := byTo["visitor"+string(rune('a'+i))+"@example.net"]
			if !ok {
				t.Fatalf("no email for %s", c.locale)
			}
			lang := c.locale[:2]
			if got, err := dec.DecodeHeader(m.Msg.Header.Get("Subject")); err != nil || got != c.subject {
				t.Errorf("Subject %q (%v), want %q", got, err, c.subject)
			}
			if got := m.Msg.Header.Get("Content-Language"); got != lang {
				t.Errorf("Content-Language %q, want %q", got, lang)
			}
			text, html := mailParts(t, m)
			text, html = strings.ReplaceAll(text, "\r\n", "\n"), strings.ReplaceAll(html, "\r\n", "\n")
			if !strings.Contains(html, `<html lang="`+lang+`"`) {
				t.Errorf("no <html lang=%q>", lang)
			}
			for _, part := range []string{text, html} {
				if !strings.Contains(part, c.words) {
					t.Errorf("a part lacks %q", c.words)
				}
				if !strings.Contains(part, " "+c.zoneName+"\n") && !strings.Contains(part, " "+c.zoneName+"</p>") {
					t.Errorf("a part names no %s time:\n%s", c.zoneName, part)
				}
			}
		})
	}
}
