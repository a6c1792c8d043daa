package inbound

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/mail/htmltext"
)

// The fixtures are replies to a Parley email as common clients write them:
// testdata/NAME.eml, with the new text the visitor typed in
// NAME.expected.txt.
func TestParseFixtures(t *testing.T) {
	// What else each fixture must give; every fixture is listed.
	type attachment struct {
		name, contentType string
		inline            bool
	}
	checks := map[string]struct {
		from, fromName, subject string
		attachments             []attachment
	}{
		"android_gmail_es": {from: "jorge.garcia@gmail.com", fromName: "Jorge García"},
		"apple_mail_it_mixed": {from: "giulia.rossi@icloud.com", fromName: "Giulia Rossi",
			attachments: []attachment{{"ricevuta ordine 10482.pdf", "application/pdf", false}}},
		"gmail_de_attachment": {from: "j.mueller@gmail.com", fromName: "Jürgen Müller",
			attachments: []attachment{{"Karton_beschädigt.jpg", "image/jpeg", false}}},
		"gmail_en":        {from: "marie.dupont@gmail.com", fromName: "Marie Dupont"},
		"gmail_fr_base64": {from: "marie.lefevre@gmail.com", fromName: "Marie Lefèvre"},
		"gmail_pt_related_inline": {from: "joao.silva@gmail.com", fromName: "João Silva",
			attachments: []attachment{{"etiqueta.png", "image/png", true}}},
		"ios_pt":                      {from: "ana.souza@yahoo.com.br", fromName: "Ana Souza"},
		"outlook_de_html_windows1252": {from: "s.weiss@beispiel.de", fromName: "Sabine Weiß", subject: "AW: Your conversation with ACME"},
		"outlook_en_html_only": {from: "tom.baker@contoso.com", fromName: "Tom Baker",
			attachments: []attachment{{"Outlook-logo.png", "image/png", true}}},
		"outlook_es_iso88591_mislabelled": {from: "lucia.fernandez@ejemplo.es", fromName: "Lucía Fernández", subject: "RE: Your conversation with ACME"},
		"outlook_fr_windows1252_8bit":     {from: "elodie.martin@exemple.fr", fromName: "Élodie Martin", subject: "RE\u00a0: Your conversation with ACME"},
		"thebat_ru_windows1251":           {from: "ivan.petrov@example.ru", fromName: "Иван Петров"},
		"thunderbird_nl_flowed_iso885915": {from: "daan@vries.example.nl", fromName: "Daan de Vries"},
	}
	const replyAddress = "reply+ah2q4ayhbnkgm3n6rluxmlrmvwlkqbvbgq7mvq4a5xk2e@reply.acme.example"

	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(checks) {
		t.Errorf("%d fixtures, %d checks: list every fixture in checks", len(files), len(checks))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			m := parseFile(t, file)
			want := strings.TrimSpace(readFile(t, strings.TrimSuffix(file, ".eml")+".expected.txt"))
			if m.NewText != want {
				t.Errorf("NewText:\n%s\n--- want:\n%s", m.NewText, want)
			}
			if !strings.HasPrefix(m.Text, m.NewText) {
				t.Errorf("Text does not start with the new text:\n%s", m.Text)
			}
			if strings.ContainsAny(m.Text, "\r\x00\ufffd") {
				t.Errorf("Text holds CR, NUL or U+FFFD: %q", m.Text)
			}

			c, ok := checks[name]
			if !ok {
				t.Fatalf("no checks for fixture %s", name)
			}
			if m.From == nil || m.From.Address != c.from || m.From.Name != c.fromName {
				t.Errorf("From = %v, want %q <%s>", m.From, c.fromName, c.from)
			}
			subject := c.subject
			if subject == "" {
				subject = "Re: Your conversation with ACME"
			}
			if m.Subject != subject {
				t.Errorf("Subject = %q, want %q", m.Subject, subject)
			}
			if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<> ") {
				t.Errorf("MessageID = %q", m.MessageID)
			}
			if m.Date.Year() != 2026 {
				t.Errorf("Date = %v", m.Date)
			}
			if len(m.Recipients) == 0 || m.Recipients[0] != replyAddress {
				t.Errorf("Recipients = %v, want %s first", m.Recipients, replyAddress)
			}
			if m.AutoReply != "" || m.Bounce != nil {
				t.Errorf("AutoReply = %q, Bounce = %+v: a reply is neither", m.AutoReply, m.Bounce)
			}
			var got []attachment
			for _, a := range m.Attachments {
				got = append(got, attachment{a.Filename, a.ContentType, a.Inline})
				if len(a.Data) == 0 {
					t.Errorf("attachment %q is empty", a.Filename)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.attachments) {
				t.Errorf("attachments = %v, want %v", got, c.attachments)
			}
		})
	}
}

func TestParseAttachmentData(t *testing.T) {
	m := parseFile(t, "testdata/apple_mail_it_mixed.eml")
	if len(m.Attachments) != 1 || !bytes.HasPrefix(m.Attachments[0].Data, []byte("%PDF-1.4\n")) {
		t.Fatalf("attachment not decoded: %+v", m.Attachments)
	}
	m = parseFile(t, "testdata/gmail_de_attachment.eml")
	if d := m.Attachments[0].Data; len(d) != 283 || !bytes.HasPrefix(d, []byte{0xff, 0xd8}) || !bytes.HasSuffix(d, []byte{0xff, 0xd9}) {
		t.Fatalf("JPEG not decoded: % x...", d[:min(len(d), 8)])
	}
}

// TestParseLenient feeds malformed messages of the kinds found in the wild:
// each must still give its text.
func TestParseLenient(t *testing.T) {
	const head = "From: Visitor <v@example.com>\r\nTo: reply+x@reply.example\r\nSubject: Re: Hi\r\n"
	tests := []struct {
		name, raw string
		newText   string // "" means: Text must contain text instead
		text      string
	}{{
		name:    "no MIME header, LF line ends",
		raw:     "From: v@example.com\nSubject: hi\n\nHello there\n\n> quoted\n",
		newText: "Hello there",
	}, {
		name:    "8-bit Latin-1 without a charset",
		raw:     head + "\r\nGr\xfc\xdfe aus K\xf6ln\r\n",
		newText: "Grüße aus Köln",
	}, {
		name:    "UTF-8 declared, Windows-1252 written",
		raw:     head + "Content-Type: text/plain; charset=utf-8\r\n\r\nCa co\xfbte 5 \x80\r\n",
		newText: "Ca coûte 5 €",
	}, {
		name:    "unknown charset, UTF-8 bytes",
		raw:     head + "Content-Type: text/plain; charset=x-unknown-42\r\n\r\nna\xc3\xafve caf\xc3\xa9\r\n",
		newText: "naïve café",
	}, {
		name:    "unknown transfer encoding",
		raw:     head + "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nplain words\r\n",
		newText: "plain words",
	}, {
		name:    "quoted-printable with a control character and a bad escape",
		raw:     head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nline one \x0c=3D ok=ZZ\r\nsoft=\r\nbreak caf=C3=A9\r\n",
		newText: "line one  = ok=ZZ\nsoftbreak café",
	}, {
		name:    "base64 with junk, spaces and padding in the middle",
		raw:     head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVs bG8g*d29y\r\n  bGQ=IQ==\r\n",
		newText: "Hello world!",
	}, {
		name:    "malformed Content-Type parameters",
		raw:     head + "Content-Type: multipart/alternative; boundary=\"b1; charset=\"utf-8\r\n\r\n--b1\r\nContent-Type: text/plain; charset=\"iso-8859-1\r\n\r\nt\xe9l\xe9phone\r\n--b1--\r\n",
		newText: "téléphone",
	}, {
		name:    "missing boundary parameter",
		raw:     head + "Content-Type: multipart/mixed\r\n\r\n--XyZ123\r\nContent-Type: text/plain\r\n\r\nthe text\r\n--XyZ123\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--XyZ123--\r\n",
		newText: "the text",
	}, {
		name:    "boundary in the header differs from the body",
		raw:     head + "Content-Type: multipart/alternative; boundary=\"AAA\"\r\n\r\n--BBB\r\nContent-Type: text/plain\r\n\r\nmismatch text\r\n--BBB--\r\n",
		newText: "mismatch text",
	}, {
		name:    "no close delimiter (truncated message)",
		raw:     head + "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntruncated but readable\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>truncated",
		newText: "truncated but readable",
	}, {
		name:    "multipart without any delimiter",
		raw:     head + "Content-Type: multipart/mixed; boundary=nothere\r\n\r\njust some text\r\n",
		newText: "just some text",
	}, {
		name:    "only a close delimiter",
		raw:     head + "Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble, ignored\r\n--b--\r\n",
		newText: "",
	}, {
		name:    "part header without the blank line",
		raw:     head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nthe body starts here\r\n--b--\r\n",
		newText: "the body starts here",
	}, {
		name:    "message header without the blank line",
		raw:     head + "Hello, no blank line above me.\r\n",
		newText: "Hello, no blank line above me.",
	}, {
		name:    "mbox From line",
		raw:     "From v@example.com Tue Mar  3 10:00:00 2026\r\n" + head + "\r\nbody after mbox line\r\n",
		newText: "body after mbox line",
	}, {
		name:    "HTML only, no charset, entities",
		raw:     head + "Content-Type: text/html\r\n\r\n<html><body><p>Caf&eacute; &amp; cr&egrave;me</p><ul><li>one</li><li>two</li></ul></body></html>",
		newText: "Café & crème\n- one\n- two",
		text:    "Café & crème\n\n- one\n- two",
	}, {
		name:    "empty text/plain alternative, HTML has the text",
		raw:     head + "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n \r\n--b\r\nContent-Type: text/html\r\n\r\n<div>from the HTML</div>\r\n--b--\r\n",
		newText: "from the HTML",
	}, {
		name:    "text/calendar alternative is not an attachment",
		raw:     head + "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ninvite text\r\n--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n--b--\r\n",
		newText: "invite text",
	}, {
		name:    "NUL bytes",
		raw:     head + "\r\nnul\x00 inside\r\n",
		newText: "nul inside",
	}, {
		name:    "encoded-word filename and text/plain attachment",
		raw:     head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain; name=\"=?utf-8?q?notes_=C3=A9t=C3=A9.txt?=\"\r\n\r\nnot the body\r\n--b--\r\n",
		newText: "body",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if m.NewText != tc.newText {
				t.Errorf("NewText = %q, want %q", m.NewText, tc.newText)
			}
			if tc.text != "" && m.Text != tc.text {
				t.Errorf("Text = %q, want %q", m.Text, tc.text)
			}
		})
	}
}

func TestParseAttachmentNames(t *testing.T) {
	raw := "From: v@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n" +
		"--b\r\nContent-Type: text/plain; name=\"=?utf-8?q?notes_=C3=A9t=C3=A9.txt?=\"\r\n\r\nnotes\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''na%C3%AFve.bin\r\n\r\nx\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: forwarded\r\n\r\nhello\r\n--b--\r\n"
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range m.Attachments {
		got = append(got, a.Filename+"|"+a.ContentType+"|"+string(a.Data))
	}
	want := []string{"notes été.txt|text/plain|notes", "naïve.bin|application/octet-stream|x", "|message/rfc822|Subject: forwarded\r\n\r\nhello"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attachments:\n%q\nwant:\n%q", got, want)
	}
}

func TestParseHeaders(t *testing.T) {
	raw := "Received: from x\r\n" +
		"Message-ID:\r\n <CA+abc=def@mail.example.com> (comment)\r\n" +
		"From: =?ISO-8859-15?Q?Ren=E9_=A4?= <Rene@Example.COM>\r\n" +
		"To: \"Alex via ACME\" <Reply+TOKEN@Reply.Example>, other@example.com\r\n" +
		"Cc: undisclosed-recipients:;\r\n" +
		"Delivered-To: reply+token@reply.example\r\n" +
		"X-Original-To: <bounces@acme.example>\r\n" +
		"Subject: =?UTF-8?B?UmU6IMOpdMOp?= =?UTF-8?B?IOKCrA==?=\r\n" +
		"Date: Tue, 3 Mar 2026 10:42:58 +0100 (CET)\r\n" +
		"\r\nbody\r\n"
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != "CA+abc=def@mail.example.com" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if m.From == nil || m.From.Name != "René €" || m.From.Address != "Rene@Example.COM" {
		t.Errorf("From = %#v", m.From)
	}
	want := []string{"reply+token@reply.example", "other@example.com", "bounces@acme.example"}
	if fmt.Sprint(m.Recipients) != fmt.Sprint(want) {
		t.Errorf("Recipients = %v, want %v", m.Recipients, want)
	}
	if m.Subject != "Re: été €" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !m.Date.Equal(time.Date(2026, 3, 3, 9, 42, 58, 0, time.UTC)) {
		t.Errorf("Date = %v", m.Date)
	}

	// Unparsable address fields still give the addresses in them.
	m, err = Parse(strings.NewReader("From: broken <<a@b.example\r\nTo: Name With, Comma <reply+t@r.example>; x\r\n\r\nhi"))
	if err != nil {
		t.Fatal(err)
	}
	if m.From == nil || m.From.Address != "a@b.example" || fmt.Sprint(m.Recipients) != "[reply+t@r.example]" {
		t.Errorf("From = %v, Recipients = %v", m.From, m.Recipients)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"empty", nil, errMalformed},
		{"prose", []byte("this is not an email, just words\n\nat all"), errMalformed},
		{"JSON", []byte(`{"from": "a@b.example", "text": "hi"}`), errMalformed},
		{"binary", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), errMalformed},
		{"unknown fields only", []byte("Foo: bar\r\nBaz: qux\r\n\r\nbody"), errMalformed},
		{"too large", append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("a"), MaxMessageBytes)...), errTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(bytes.NewReader(tc.raw))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %v", m, err, tc.want)
			}
		})
	}
	// Exactly MaxMessageBytes is accepted.
	raw := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("a"), MaxMessageBytes-16)...)
	if _, err := Parse(bytes.NewReader(raw)); err != nil {
		t.Errorf("message of MaxMessageBytes: %v", err)
	}
}

// TestParseLimits checks that hostile structure costs bounded work and
// keeps what comes before the limits.
func TestParseLimits(t *testing.T) {
	t.Run("deep nesting", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: v@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
		const depth = 1000
		for i := 1; i <= depth; i++ {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
			if i == 5 {
				fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nshallow text\r\n", i)
			}
		}
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ntoo deep\r\n", depth)
		m := mustParseQuickly(t, b.String())
		if m.NewText != "shallow text" {
			t.Errorf("NewText = %q", m.NewText)
		}
	})
	t.Run("many parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: v@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n")
		for i := 0; i < 100000; i++ {
			b.WriteString("--b\r\nContent-Type: image/gif\r\n\r\nGIF\r\n")
		}
		b.WriteString("--b--\r\n")
		m := mustParseQuickly(t, b.String())
		if m.NewText != "first" || len(m.Attachments) >= maxParts {
			t.Errorf("NewText = %q, %d attachments", m.NewText, len(m.Attachments))
		}
	})
	t.Run("huge header", func(t *testing.T) {
		m := mustParseQuickly(t, "From: v@example.com\r\n"+strings.Repeat("X-Foo: bar\r\n", 2<<20/12)+"\r\nbody")
		if m.From == nil || m.From.Address != "v@example.com" {
			t.Errorf("From = %v", m.From)
		}
	})
	t.Run("deeply nested HTML", func(t *testing.T) {
		body := strings.Repeat("<div><blockquote>", 20000) + "x"
		mustParseQuickly(t, "From: v@example.com\r\nContent-Type: text/html\r\n\r\n"+body)
	})
	t.Run("decoded size", func(t *testing.T) {
		if testing.Short() {
			t.Skip("allocates about 100 MB")
		}
		// Each 0x80 byte is "€", three bytes in UTF-8: 20 MiB would become
		// 60; only the text that is kept is decoded.
		raw := "From: v@example.com\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\n" + strings.Repeat("\x80", 20<<20)
		m, err := Parse(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Text) > maxTextBytes || !strings.HasPrefix(m.Text, "€€€") || !utf8.ValidString(m.Text) {
			t.Errorf("Text: %d bytes starting %q, want at most %d bytes of €", len(m.Text), m.Text[:min(len(m.Text), 9)], maxTextBytes)
		}
	})
	t.Run("huge HTML", func(t *testing.T) {
		if testing.Short() {
			t.Skip("parses 24 MB")
		}
		// Many small elements: the costliest shape for an HTML tree,
		// about 1 GB for 24 MB when the whole body was parsed into one.
		var b strings.Builder
		b.WriteString("From: v@example.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Thanks, that works.</p>\r\n")
		for b.Len() < 24<<20 {
			b.WriteString("<p><b>w</b> <i>x</i></p>\r\n")
		}
		raw := b.String()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := Parse(strings.NewReader(raw))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.NewText, "Thanks, that works.") {
			t.Errorf("NewText starts %q", m.NewText[:min(len(m.NewText), 40)])
		}
		// The raw message and its decoded body are 48 MB of it.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 300<<20 {
			t.Errorf("parsing allocated %d MiB, want under 300 MiB", alloc>>20)
		} else {
			t.Logf("parsing 24 MB of HTML allocated %d MiB", alloc>>20)
		}
	})
}

func mustParseQuickly(t *testing.T, raw string) *Message {
	t.Helper()
	start := time.Now()
	m, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Parse took %v", d)
	}
	return m
}

func TestUnflow(t *testing.T) {
	tests := []struct {
		in    string
		delSp bool
		want  string
	}{
		{"one \r\ntwo\r\nthree", false, "one two\nthree"},
		{"one\r\n two", false, "one\ntwo"}, // space-stuffed
		{"abc \r\ndef", true, "abcdef"},
		{"text \r\n> quoted \r\n> more\r\nback", false, "text \n> quoted more\nback"},
		{"-- \r\nsig", false, "-- \nsig"},
		{">> deep \r\n>> er", false, ">> deep er"},
	}
	for _, tc := range tests {
		if got := unflow(tc.in, tc.delSp); got != tc.want {
			t.Errorf("unflow(%q, %v) = %q, want %q", tc.in, tc.delSp, got, tc.want)
		}
	}
}

func TestHTMLText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"<div>a<br>b</div><div>c</div>", "a\nb\nc"},
		{"<head><title>T</title><style>p{}</style></head><body>x <b>bold</b>  y</body>", "x bold y"},
		{"<blockquote><p>q1</p><p>q2</p></blockquote><p>after</p>", "> q1\n\n> q2\n\nafter"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"a<pre>  keep\n   spaces</pre>", "a\n\n  keep\n   spaces"},
		{"<ol><li>one</li><li>two</li></ol>", "- one\n- two"},
		{"caf&eacute;&nbsp;ok", "café ok"},
	}
	for _, tc := range tests {
		if got := clean(htmltext.String(tc.in, htmltext.Options{})); got != tc.want {
			t.Errorf("htmltext.String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLenientBase64(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SGVsbG8=", "Hello"},
		{"SGVs\r\nbG8=\r\n", "Hello"},
		{"SGVsbG8", "Hello"},
		{"SGVsbG8=SGk=", "HelloHi"},
		{"SG Vs*bG8", "Hello"},
		{"SGVsbG8gd", "Hello "},
		{"", ""},
	}
	for _, tc := range tests {
		if got := string(lenientBase64([]byte(tc.in))); got != tc.want {
			t.Errorf("lenientBase64(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := bytes.Repeat([]byte("QUJD"), 1000) // more than one internal chunk
	if got := lenientBase64(long); string(got) != strings.Repeat("ABC", 1000) {
		t.Errorf("long input decoded to %d bytes", len(got))
	}
}

func TestClientID(t *testing.T) {
	a := &Message{MessageID: "abc@example.com", Text: "one"}
	b := &Message{MessageID: "abc@example.com", Text: "two"}
	c := &Message{MessageID: "other@example.com"}
	noID := &Message{Subject: "s", Text: "t", Date: time.Unix(1, 0)}
	noID2 := &Message{Subject: "s", Text: "t", Date: time.Unix(1, 0)}
	switch {
	case a.ClientID() != b.ClientID():
		t.Error("same Message-ID, different ids")
	case a.ClientID() == c.ClientID():
		t.Error("different Message-IDs, same id")
	case noID.ClientID() != noID2.ClientID():
		t.Error("same content without Message-ID, different ids")
	case len(a.ClientID()) > 100:
		t.Errorf("id %q longer than 100 bytes", a.ClientID())
	}
	long := &Message{MessageID: strings.Repeat("x", 500) + "@example.com"}
	if len(long.ClientID()) > 100 {
		t.Errorf("id of a long Message-ID is %d bytes", len(long.ClientID()))
	}
}

// talonDir holds the talon corpus of raw replies from common clients (see
// /work/shared/corpus/README.md).
var talonDir = filepath.Join(findCorpus(), "talon", "standard_replies")

type talonCase struct {
	name string
	raw  []byte
	want string
}

func loadTalon(tb testing.TB) []talonCase {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(talonDir, "*.in.eml"))
	if len(files) == 0 {
		tb.Skipf("talon corpus not found at %s", talonDir)
	}
	var cases []talonCase
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.eml")
		want := filepath.Join(talonDir, name+".expected.strict.txt")
		if _, err := os.Stat(want); err != nil {
			want = filepath.Join(talonDir, name+".expected.txt")
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		cases = append(cases, talonCase{name: name, raw: raw, want: readFile(tb, want)})
	}
	return cases
}

// TestTalonCorpus runs the talon replies through Parse. Mismatches are
// reported, not failed: extraction quality belongs to package reply; what
// this test guards is that MIME decoding hands it the right text, so
// parsing must succeed and the text must be there.
func TestTalonCorpus(t *testing.T) {
	cases := loadTalon(t)
	exact := 0
	for _, c := range cases {
		m, err := Parse(bytes.NewReader(c.raw))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want := strings.TrimSpace(strings.ReplaceAll(c.want, "\r\n", "\n"))
		if m.NewText == want {
			exact++
			continue
		}
		if !strings.Contains(m.Text, want) {
			t.Errorf("%s: the expected text is not in Text (a decoding problem):\n%s", c.name, m.Text)
		}
		t.Logf("MISMATCH %s (extraction)\n--- got:\n%s\n--- want:\n%s", c.name, m.NewText, want)
	}
	t.Logf("talon/standard_replies through Parse: %d/%d exact (%.0f%%)", exact, len(cases), 100*float64(exact)/float64(len(cases)))
}

// fuzzSeeds are every testdata message and the talon corpus.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var seeds [][]byte
	for _, pattern := range []string{"testdata/*.eml", "testdata/*/*.eml", filepath.Join(talonDir, "*.eml")} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(bytes.NewReader(raw))
		if err != nil {
			return
		}
		for _, s := range []string{m.Text, m.NewText, m.Subject} {
			if strings.ContainsAny(s, "\x00\r") || !utf8.ValidString(s) {
				t.Fatalf("unclean text %q", s)
			}
		}
		if len(m.Attachments) > maxParts {
			t.Fatalf("%d attachments", len(m.Attachments))
		}
		if len(m.Text) > max(maxTextBytes, maxHTMLTreeBytes) {
			t.Fatalf("Text of %d bytes, over the text bounds", len(m.Text))
		}
	})
}

// BenchmarkParse parses the talon corpus and the testdata messages.
func BenchmarkParse(b *testing.B) {
	msgs := fuzzSeeds(b)
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msgs[n%len(msgs)])); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

func parseFile(t *testing.T, path string) *Message {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// findCorpus returns the shared public corpora of replies: the directory
// named by PARLEY_CORPUS, or shared/corpus/replies next to the checkout or
// one of its parents.
func findCorpus() string {
	if d := os.Getenv("PARLEY_CORPUS"); d != "" {
		return filepath.Join(d, "replies")
	}
	dir, err := os.Getwd()
	if err != nil {
		return "shared/corpus/replies"
	}
	for {
		c := filepath.Join(dir, "shared", "corpus", "replies")
		if _, err := os.Stat(c); err == nil {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return c
		}
		dir = parent
	}
}
