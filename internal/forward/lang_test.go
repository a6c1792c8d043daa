package forward

import (
	"mime"
	"strings"
	"testing"
	"time"
)

// A forwarded email speaks the visitor's language: subject, body words,
// dates, Content-Language and <html lang>, with times in the given zone,
// named.
func TestComposeLanguages(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	cases := []struct {
		lang, subject, hi, time, reply, footer string
	}{
		{"en", "Your conversation with Acme", "Hi Sam,", "Mon 2 Mar 11:15 CET", "Reply to this email to continue the conversation.",
			"You receive this email because you started a chat with Acme on its website."},
		{"fr", "Votre conversation avec Acme", "Bonjour Sam,", "lun. 2 mars 11:15 CET", "Répondez à cet e-mail pour poursuivre la conversation.",
			"Vous recevez cet e-mail parce que vous avez ouvert une discussion avec Acme sur son site."},
		{"de", "Ihre Unterhaltung mit Acme", "Hallo Sam,", "Mo., 2. März 11:15 CET", "Antworten Sie auf diese E-Mail, um die Unterhaltung fortzusetzen.",
			"Sie erhalten diese E-Mail, weil Sie auf der Website von Acme einen Chat begonnen haben."},
		{"es", "Tu conversación con Acme", "Hola, Sam:", "lun 2 mar 11:15 CET", "Responde a este correo para seguir con la conversación.",
			"Recibes este correo porque iniciaste un chat con Acme en su web."},
		{"it", "La tua conversazione con Acme", "Ciao Sam,", "lun 2 mar 11:15 CET", "Rispondi a questa email per continuare la conversazione.",
			"Ricevi questa email perché hai avviato una chat con Acme sul suo sito."},
		{"pt", "Sua conversa com Acme", "Olá, Sam,", "seg., 2 de mar. 11:15 CET", "Responda a este e-mail para continuar a conversa.",
			"Você recebe este e-mail porque iniciou um chat no site de Acme."},
		{"nl", "Je gesprek met Acme", "Hallo Sam,", "ma 2 mrt 11:15 CET", "Beantwoord deze e-mail om het gesprek voort te zetten.",
			"Je ontvangt deze e-mail omdat je op de website van Acme een chat bent begonnen."},
		{"xx", "Your conversation with Acme", "Hi Sam,", "Mon 2 Mar 11:15 CET", "Reply to this email", "with Acme on its website."}, // unknown: English
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			in := composeInput(t, longChat(), ModeUnread)
			in.Lang, in.Location = c.lang, paris
			p := parseEmail(t, mustCompose(t, in))
			want := c.lang
			if want == "xx" {
				want = "en"
			}
			var dec mime.WordDecoder
			if s, err := dec.DecodeHeader(p.header.Get("Subject")); err != nil || s != c.subject {
				t.Errorf("Subject = %q (%v), want %q", s, err, c.subject)
			}
			if got := p.header.Get("Content-Language"); got != want {
				t.Errorf("Content-Language = %q, want %q", got, want)
			}
			if !strings.Contains(p.html, `<html lang="`+want+`"`) {
				t.Errorf("html part has no lang %q", want)
			}
			for _, part := range []string{p.text, p.html} {
				for _, s := range []string{c.hi, c.time, c.reply, c.footer} {
					if !strings.Contains(part, s) {
						t.Errorf("a part lacks %q:\n%s", s, part)
					}
				}
			}
			if want != "en" && strings.Contains(p.text, "Unsubscribe") {
				t.Errorf("the text part is still in English:\n%s", p.text)
			}
		})
	}
}
