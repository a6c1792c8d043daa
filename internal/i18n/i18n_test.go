package i18n

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Every language has exactly the keys of English, and no message is left
// in English by mistake where the language has its own word.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	want := Keys("en")
	if len(want) == 0 {
		t.Fatal("the English catalogue is empty")
	}
	for _, code := range Languages {
		got := Keys(code)
		for _, k := range want {
			if !slices.Contains(got, k) {
				t.Errorf("%s: no message %q", code, k)
			}
		}
		for _, k := range got {
			if !slices.Contains(want, k) {
				t.Errorf("%s: message %q is not in the English catalogue", code, k)
			}
		}
		l := langs[code]
		for _, d := range l.Days {
			if d == "" {
				t.Errorf("%s: a day name is empty", code)
			}
		}
		for _, m := range l.Months {
			if m == "" {
				t.Errorf("%s: a month name is empty", code)
			}
		}
	}
}

// Formatting a message never leaves fmt's error marks, in any language,
// with the arguments the code passes.
func TestMessagesFormat(t *testing.T) {
	args := map[string][]any{
		"email.subject": {"Acme"}, "email.hi.name": {"Sam"}, "email.intro": {3}, "email.intro.from": {2, "Acme"},
		"email.omitted": {4}, "email.continue.text": {"https://x"}, "email.file.text": {"a.png", "https://x"}, "email.footer.from": {"Acme"},
		"email.unsubscribe.text": {"https://x"}, "email.via": {"Alex", "Acme"}, "chat.title": {"Acme"},
		"chat.expired.what": {"Acme"}, "chat.expired.todo": {"Acme"},
		"unsub.ask.what": {"Acme"}, "unsub.ask.what.to": {"Acme", "a@b.c"}, "unsub.done.what": {"a@b.c", "Acme"},
		"change.subject": {"Acme"}, "change.what": {"Acme", "a***@b***.c"}, "link.days": {7},
		"undo.ask.what": {"Acme", "a@b.c"}, "undo.done.what": {"Acme", "a@b.c"}, "optin.ask.what": {"Acme", "a@b.c"}, "optin.done.what": {"Acme", "a@b.c"},
		"optin.subject": {"Acme"}, "optin.what": {"Acme"},
	}
	for _, code := range Languages {
		p := For(code)
		for _, k := range Keys(code) {
			for _, n := range []int{1, 2} {
				a := args[k]
				if len(a) > 0 && (k == "email.intro" || k == "email.intro.from" || k == "email.omitted" || k == "link.days") {
					a = append([]any{n}, a[1:]...)
				}
				s := p.T(k, a...)
				if s == "" || s == k || strings.Contains(s, "%!") {
					t.Errorf("%s %s %v: %q", code, k, a, s)
				}
			}
		}
	}
}

func TestPlurals(t *testing.T) {
	cases := []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "You have a new reply from Acme."},
		{"en", 2, "You have 2 new replies from Acme."},
		{"fr", 1, "Vous avez une nouvelle réponse de Acme."},
		{"fr", 5, "Vous avez 5 nouvelles réponses de Acme."},
		{"de", 3, "Sie haben 3 neue Antworten von Acme."},
		{"nl", 1, "Je hebt een nieuw antwoord van Acme."},
	}
	for _, c := range cases {
		if got := For(c.lang).T("email.intro.from", c.n, "Acme"); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

// A name ending with a full stop at the end of a sentence keeps one: "from
// Kettle & Co.", in every language, and inside a sentence it keeps its own.
func TestNameEndingWithAFullStop(t *testing.T) {
	for _, lang := range Languages {
		got := For(lang).T("email.intro.from", 2, "Kettle & Co.")
		if strings.Contains(got, "Co..") || !strings.Contains(got, "Kettle & Co.") {
			t.Errorf("%s: %q", lang, got)
		}
	}
	if got := For("en").T("email.subject", "Kettle & Co."); !strings.Contains(got, "Kettle & Co.") {
		t.Errorf("subject %q lost the name's full stop", got)
	}
}

func TestResolve(t *testing.T) {
	cases := []struct {
		locale, accept, def, want string
	}{
		{"fr-FR", "de", "en", "fr"},
		{"fr", "", "en", "fr"},
		{"pt-BR", "", "en", "pt"},
		{"nl-BE", "", "en", "nl"},
		{"de-CH", "", "fr", "de"},
		{"", "es-ES,es;q=0.9,en;q=0.8", "en", "es"},
		{"ja-JP", "it-IT,it;q=0.9", "en", "it"},     // unknown locale: the browser's languages
		{"ja-JP", "ja,ko;q=0.9", "de", "de"},        // none known: the workspace's default
		{"", "", "nl", "nl"},                        // nothing: the default
		{"xx-not-a-tag!!", "!!!", "fr", "fr"},       // garbage: never fails
		{"", "zh;q=0.9, fr;q=0.5", "en", "fr"},      // a later language of the header
		{"", "", "", "en"},                          // no default: English
		{"", "", "ja", "en"},                        // a default Parley does not speak
		{"sr-Latn-RS", "", "es", "es"},              // a real tag, not spoken
		{strings.Repeat("a", 5000), "", "it", "it"}, // absurd input
	}
	for _, c := range cases {
		if got := Resolve(c.locale, c.accept, c.def); got != c.want {
			t.Errorf("Resolve(%q, %q, %q) = %q, want %q", c.locale, c.accept, c.def, got, c.want)
		}
	}
}

func TestTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	winter := time.Date(2026, 1, 5, 13, 5, 0, 0, time.UTC)
	newYork, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		lang string
		t    time.Time
		year int
		want string
	}{
		{"en", winter.In(paris), 2026, "Mon 5 Jan 14:05 CET"},
		{"en-US", winter.In(newYork), 2026, "Mon, Jan 5, 8:05 AM EST"},
		{"en-US", winter.In(newYork), 2025, "Mon, Jan 5, 2026, 8:05 AM EST"},
		{"en-US", winter, 2026, "Mon, Jan 5, 1:05 PM UTC"},
		{"en-AU", winter, 2026, "Mon 5 Jan 1:05 PM UTC"},
		{"en-GB", winter, 2026, "Mon 5 Jan 13:05 UTC"},
		{"fr-CA", winter, 2026, "lun. 5 janv. 13:05 UTC"},
		{"fr", winter.In(paris), 2026, "lun. 5 janv. 14:05 CET"},
		{"de", winter.In(paris), 2026, "Mo., 5. Jan. 14:05 CET"},
		{"es", winter.In(paris), 2025, "lun 5 ene 2026 14:05 CET"},
		{"it", winter.In(paris), 2026, "lun 5 gen 14:05 CET"},
		{"pt", winter.In(paris), 2026, "seg., 5 de jan. 14:05 CET"},
		{"nl", winter.In(paris), 2026, "ma 5 jan 14:05 CET"},
		{"fr", time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(paris), 2026, "mer. 1 juil. 14:00 CEST"},
		{"en", winter, 2026, "Mon 5 Jan 13:05 UTC"},
		{"en", winter.In(kolkata), 2026, "Mon 5 Jan 18:35 IST"},
		{"en", winter.In(time.FixedZone("", 3*3600)), 2026, "Mon 5 Jan 16:05 UTC+3"},
		{"en", winter.In(time.FixedZone("", -(9*3600 + 30*60))), 2026, "Mon 5 Jan 03:35 UTC-9:30"},
	}
	for _, c := range cases {
		lang, _, _ := strings.Cut(c.lang, "-")
		if got := For(lang).In(c.lang).Time(c.t, c.year); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.lang, c.t, got, c.want)
		}
	}
}

func TestForUnknownIsDefault(t *testing.T) {
	if got := For("xx").Lang(); got != Default {
		t.Errorf("For(xx) = %s", got)
	}
}

// TestOneWayOfAddress: a language's texts speak to the visitor one way.
// Spanish, Italian and Dutch address them informally (tú, tu, je), as the
// widget does; none of their texts may switch to the formal address.
func TestOneWayOfAddress(t *testing.T) {
	formal := map[string][]string{
		"es": {"usted", "Podría", " su dirección", "le enviaremos"},
		"it": {"Può ", " il suo ", " Lei ", "le invieremo"},
		"nl": {" u ", " uw ", "Wilt u"},
	}
	for lang, words := range formal {
		p := For(lang)
		for _, key := range Keys(lang) {
			text := " " + p.T(key) + " "
			for _, w := range words {
				if strings.Contains(text, w) {
					t.Errorf("%s %s: %q speaks formally (%q)", lang, key, p.T(key), w)
				}
			}
		}
	}
}
