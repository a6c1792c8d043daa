package forward

import (
	"cmp"
	"html"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/mail/message"
)

func TestMaskAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"jo.doe@example.org", "j***@e***.org"},
		{"ana@mail.example.co.uk", "a***@m***.uk"},
		{"élodie@exemple.fr", "é***@e***.fr"},
		{"x@localhost", "x***@l***"},
		{"not an address", "***"},
		{"@example.org", "***"},
	} {
		if got := MaskAddress(tc.in); got != tc.want {
			t.Errorf("MaskAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestComposeAddressChange(t *testing.T) {
	in := AddressChange{WorkspaceName: `Shop <b>"&"</b>`, MailFrom: "chat@shop.example.com", To: "old@example.org",
		NewAddress: "new.person@elsewhere.net", UndoURL: "https://chat.example.com/email-change/undo/abc",
		UndoValidFor: 7 * 24 * time.Hour, MessageID: "<n1@shop.example.com>", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	msg, err := ComposeAddressChange(in)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{msg.Text, msg.HTML} {
		if !strings.Contains(part, "n***@e***.net") || !strings.Contains(part, in.UndoURL) || !strings.Contains(part, "7 days") {
			t.Errorf("a part lacks the masked address, the undo link or its lifetime:\n%s", part)
		}
		if strings.Contains(part, "new.person") || strings.Contains(part, "elsewhere") {
			t.Errorf("a part shows the new address unmasked:\n%s", part)
		}
	}
	if strings.Contains(msg.HTML, "<b>") || !strings.Contains(msg.HTML, "Shop &lt;b&gt;") {
		t.Errorf("the workspace name is not escaped in HTML:\n%s", msg.HTML)
	}
	if !strings.Contains(string(raw), "Auto-Submitted: auto-generated") {
		t.Errorf("not marked automatic:\n%s", raw)
	}
	in.UndoURL = "javascript:alert(1)"
	if _, err := ComposeAddressChange(in); err == nil {
		t.Error("a non-http undo URL was accepted")
	}
}

// The notice to a former address speaks the visitor's language, as their
// forwarded emails do: subject, both parts, Content-Language and
// <html lang>, with the new address masked and in bold.
func TestComposeAddressChangeLanguages(t *testing.T) {
	cases := []struct {
		lang, subject, what, button, days string
	}{
		{"en", "The email address of your conversation with Acme was changed", "was changed from this address to n***@e***.net",
			"Put my address back", "The link works for 7 days."},
		{"fr", "L'adresse e-mail de votre conversation avec Acme a été modifiée", "est passée de cette adresse à n***@e***.net",
			"Rétablir mon adresse", "Le lien fonctionne pendant 7 jours."},
		{"de", "Die E-Mail-Adresse Ihrer Unterhaltung mit Acme wurde geändert", "von dieser Adresse in n***@e***.net geändert",
			"Meine Adresse wiederherstellen", "Der Link gilt 7 Tage."},
		{"es", "Se ha cambiado la dirección de correo de tu conversación con Acme", "de esta dirección a n***@e***.net",
			"Recuperar mi dirección", "El enlace funciona durante 7 días."},
		{"it", "L'indirizzo email della tua conversazione con Acme è stato cambiato", "da questo indirizzo a n***@e***.net",
			"Ripristina il mio indirizzo", "Il link funziona per 7 giorni."},
		{"pt", "O endereço de e-mail da sua conversa com Acme foi alterado", "deste endereço para n***@e***.net",
			"Restaurar meu endereço", "O link funciona por 7 dias."},
		{"nl", "Het e-mailadres van je gesprek met Acme is gewijzigd", "van dit adres in n***@e***.net",
			"Mijn adres terugzetten", "De link werkt 7 dagen."},
		{"", "The email address of your conversation with Acme was changed", "n***@e***.net", "Put my address back", "7 days"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			msg, err := ComposeAddressChange(AddressChange{WorkspaceName: "Acme", MailFrom: "chat@acme.example", To: "old@example.org",
				NewAddress: "new.person@elsewhere.net", UndoURL: "https://chat.acme.example/email-change/undo/abc",
				UndoValidFor: 7 * 24 * time.Hour, MessageID: "<n1@acme.example>", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Lang: c.lang})
			if err != nil {
				t.Fatal(err)
			}
			p, want := noticeIn(t, msg, c.lang, c.subject)
			if !strings.Contains(p.html, "<strong>n***@e***.net</strong>") {
				t.Errorf("the HTML part is not in %s with the address in bold:\n%s", want, p.html)
			}
			unbold := strings.NewReplacer("<strong>", "", "</strong>", "")
			for _, part := range []string{p.text, unbold.Replace(p.html)} {
				for _, s := range []string{c.what, c.days, "https://chat.acme.example/email-change/undo/abc"} {
					if !strings.Contains(part, s) {
						t.Errorf("a part lacks %q:\n%s", s, part)
					}
				}
			}
			if !strings.Contains(p.html, ">"+c.button+"</a>") {
				t.Errorf("the HTML part has no button %q:\n%s", c.button, p.html)
			}
			if want != "en" && (strings.Contains(p.text, "address") || strings.Contains(p.html, "address")) {
				t.Errorf("a part is still in English:\n%s\n%s", p.text, p.html)
			}
		})
	}
}

// The opt-in confirmation speaks the language of the visitor who ticked
// the box, as their forwarded emails do.
func TestComposeOptInConfirmationLanguages(t *testing.T) {
	cases := []struct {
		lang, subject, what, button string
	}{
		{"en", "Confirm: receive replies from Acme again", "on Acme's website", "Receive the replies again"},
		{"fr", "Confirmez : recevoir à nouveau les réponses de Acme", "du site de Acme", "Recevoir à nouveau les réponses"},
		{"de", "Bestätigen: Antworten von Acme wieder erhalten", "auf der Website von Acme", "Antworten wieder erhalten"},
		{"es", "Confirma: volver a recibir las respuestas de Acme", "del sitio web de Acme", "Volver a recibir las respuestas"},
		{"it", "Conferma: ricevi di nuovo le risposte di Acme", "del sito di Acme", "Ricevi di nuovo le risposte"},
		{"pt", "Confirme: receber as respostas de Acme de novo", "do site de Acme", "Receber as respostas de novo"},
		{"nl", "Bevestig: weer antwoorden van Acme ontvangen", "op de website van Acme", "Antwoorden weer ontvangen"},
		{"", "Confirm: receive replies from Acme again", "on Acme's website", "Receive the replies again"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			msg, err := ComposeOptInConfirmation(OptInConfirmation{WorkspaceName: "Acme", MailFrom: "chat@acme.example", To: "vera@example.net",
				ConfirmURL: "https://chat.acme.example/email-opt-in/abc", ValidFor: 7 * 24 * time.Hour, MessageID: "<n2@acme.example>",
				Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Lang: c.lang})
			if err != nil {
				t.Fatal(err)
			}
			p, want := noticeIn(t, msg, c.lang, c.subject)
			for _, part := range []string{p.text, html.UnescapeString(p.html)} {
				for _, s := range []string{c.what, "https://chat.acme.example/email-opt-in/abc"} {
					if !strings.Contains(part, s) {
						t.Errorf("a part lacks %q:\n%s", s, part)
					}
				}
			}
			if !strings.Contains(p.html, ">"+c.button+"</a>") {
				t.Errorf("the HTML part has no button %q:\n%s", c.button, p.html)
			}
			if want != "en" && (strings.Contains(p.text, "address") || strings.Contains(p.text, "confirm here")) {
				t.Errorf("the text is still in English:\n%s", p.text)
			}
		})
	}
}

// noticeIn parses a notice and checks that it is in lang (empty: English):
// its subject, its Content-Language and its HTML's lang. It returns the
// parts and the language checked.
func noticeIn(t *testing.T, msg message.Message, lang, subject string) (parsedEmail, string) {
	t.Helper()
	p := parseEmail(t, msg)
	want := cmp.Or(lang, "en")
	var dec mime.WordDecoder
	if s, err := dec.DecodeHeader(p.header.Get("Subject")); err != nil || s != subject {
		t.Errorf("Subject = %q (%v), want %q", s, err, subject)
	}
	if got := p.header.Get("Content-Language"); got != want || !strings.Contains(p.html, `<html lang="`+want+`">`) {
		t.Errorf("Content-Language = %q, want %q, and the HTML's lang:\n%s", got, want, p.html)
	}
	return p, want
}
