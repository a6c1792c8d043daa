package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTextFixtures checks replies from common clients in the languages
// Parley handles: testdata/text/NAME.in.txt against NAME.want.txt.
func TestTextFixtures(t *testing.T) {
	runFixtures(t, "text", "*.in.txt", Text)
}

// TestHTMLFixtures does the same for HTML bodies in testdata/html.
func TestHTMLFixtures(t *testing.T) {
	runFixtures(t, "html", "*.in.html", HTML)
}

func runFixtures(t *testing.T, dir, pattern string, extract func(string) string) {
	t.Helper()
	files := glob(t, filepath.Join("testdata", dir, pattern))
	if len(files) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(filepath.Base(in)))
		name = strings.TrimSuffix(name, ".in")
		t.Run(name, func(t *testing.T) {
			want := strings.TrimRight(readFile(t, filepath.Join("testdata", dir, name+".want.txt")), "\n")
			if got := extract(readFile(t, in)); got != want {
				t.Errorf("got:\n%s\n--- want:\n%s", got, want)
			}
		})
	}
}

// TestTextRules pins single rules, including the answers Parley gives where
// the corpus's upstream expectations keep quotes (see disagreeByRule).
func TestTextRules(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"white space only", " \r\n\t\n\u00a0\n", ""},
		{"old Mac line endings", "one\rtwo\r", "one\ntwo"},
		{"trailing spaces trimmed", "Hi  \nthere\t\n", "Hi\nthere"},
		{"quote then text", "> This is a quote.\n\nAnd this is some text.", "And this is some text."},
		{"quote only", "> Email with only quote.", ""},
		{"interleaved, no attribution", "> Question one?\nAnswer one.\n\n> Question two?\n\nAnswer two.", "Answer one.\n\nAnswer two."},
		{"text before attribution and interleaved quote",
			"This is a line before the embedded email.\nOn Tue, 2011-03-01 at 18:02 +0530, Some One wrote:\n> Hello\n\nThis is some text", "This is a line before the embedded email."},
		{"attribution at top keeps text below",
			"On 8 May 2017 17:34, \"Andy\" <andy@example.com> wrote:\n\n> nil\n\nIt should be 2.0.", "It should be 2.0."},
		{"on without a date is text", "On this day\n\nI wrote something:\n\nwhich was interesting.", "On this day\n\nI wrote something:\n\nwhich was interesting."},
		{"year alone is no date", "Hi,\nBack in 2019 I wrote:\n> old text\nStill true.", "Hi,\nBack in 2019 I wrote:\nStill true."},
		{"wrapped attribution does not swallow text above",
			"I paid 30 euros.\nOn 28 Jan 2016, Some One <some@one.example>\nwrote:\n> Did you pay?", "I paid 30 euros."},
		{"address above an attribution is text",
			"Write to me at jane@example.com\nOn 28 Jan 2016, Some One <some@one.example> wrote:\n> Hi", "Write to me at jane@example.com"},
		{"attribution wrapped around the address",
			"One 1\n\nOn Thu, 31 Mar 2016 at 11:16 Some One\n\n<\nmailto:Some One <some.one@foo.bar>\n> wrote:\n\nTwo 2", "One 1"},
		{"zoho attribution", "Thanks\n\n---- On Tue, 22 Dec 2015 14:17:36 +0530 Sam <sam@example.com> wrote ----\n\nold", "Thanks"},
		{"gmail dated attribution", "Before\n\n2016-03-03 17:21 GMT+01:00 Some One <some@one.example>:\n\nAfter", "Before"},
		{"any language above a quote", "Dzięki!\n\n4 sty 2016 19:03 \"Parley\" <reply@parley.example> napisał(a):\n\n> Cześć", "Dzięki!"},
		{"colon line above a quote without a date stays", "Here is the error:\n> 502 Bad Gateway\nWhat now?", "Here is the error:\nWhat now?"},
		{"markdown rule in the middle stays", "Intro\n---\nMore text", "Intro\n---\nMore text"},
		{"trailing rules dropped", "Text\n\n------\n***", "Text"},
		{"underscores cut", "Reply\n_____\nOld", "Reply"},
		{"short underscores stay", "Name: ____\nSign here", "Name: ____\nSign here"},
		{"mobile signature alone", "Sent from my iPhone", ""},
		{"mobile signature cut", "Yes.\n\nEnviado desde mi iPhone\n\nEl lunes escribió algo", "Yes."},
		{"sent from in a sentence stays", "The parcel was sent from my warehouse in Lyon yesterday, as you asked.", "The parcel was sent from my warehouse in Lyon yesterday, as you asked."},
		{"sent via with a comma stays", "Returned it today.\nSent via DHL, tracking 123.\nThanks", "Returned it today.\nSent via DHL, tracking 123.\nThanks"},
		{"inviato da a person stays", "Il pacco?\nInviato da Marco ieri\nGrazie", "Il pacco?\nInviato da Marco ieri\nGrazie"},
		{"localized get outlook", "Ok\n\nObtenir Outlook pour Android\n\nDe : X\nEnvoyé : Y\nÀ : Z", "Ok"},
		{"paragraph break ends an attribution window",
			"On Monday 4th at 7pm I tried again.\n\nThen I wrote:\n> q\nMore", "On Monday 4th at 7pm I tried again.\n\nThen I wrote:\nMore"},
		{"signature delimiter", "Thanks\n-- \nKim", "Thanks"},
		{"signature delimiter alone", "-- \nKim\nACME", ""},
		{"one header field is text", "From: the sales team\nTo sum up, it works.", "From: the sales team\nTo sum up, it works."},
		{"header block at top (bare forward)", "From: A <a@example.com>\nSent: Monday\nTo: B\nSubject: Hi\n\nForwarded body", "Forwarded body"},
		{"bold header block", "Reply\n\n*From:* Outlook user\n*Sent:* 2016-01-27\n*To:* x@example.com\n*Subject:* Hi\n\nOld", "Reply"},
		{"apple forward", "FYI\n\nBegin forwarded message:\n\nFrom: A\nSubject: B\nDate: C\nTo: D\n\nBody", "FYI"},
		{"tracker mark dropped", "Hello\n\nᐧ", "Hello"},
		{"indentation kept", "    code()\n\nOn Mon, Jan 4, 2016 at 7:03 PM X <x@example.com> wrote:\n> q", "    code()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHTMLRules(t *testing.T) {
	deep := strings.Repeat("<div>", 2000) + "Deep reply" + strings.Repeat("</div>", 2000)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"quote marked only by text", "Just text<br><br>On Mon, Jan 4, 2016 at 7:03 PM X &lt;x@example.com&gt; wrote:<br>&gt; q", "Just text"},
		{"interleaved blockquotes", "<p>Answer one.</p><blockquote>Question two?</blockquote><p>Answer two.</p>", "Answer one.\nAnswer two."},
		{"br and divs", "<div>a<br>b</div><div><br></div><div>c</div>", "a\nb\n\nc"},
		{"inline white space collapses", "<p>one   <b>two</b>\n  three</p>", "one two three"},
		{"nested deeper than the parser accepts", deep, "Deep reply"},
		{"unclosed tags", "<div><p>Hi<blockquote><p>old", "Hi"},
		{"hr at top", "<hr><p>Body</p>", "Body"},
		{"border-top without a header stays", `<p>Intro</p><div style="border-top:solid 1px #ccc">Not a header</div>`, "Intro\nNot a header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTML(tt.in); got != tt.want {
				t.Errorf("HTML(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
		})
	}
}

// addSeeds adds the corpus and fixture inputs matching pattern to f.
func addSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(string(b))
			}
		}
	}
}

// checkOutput holds for any input: no CR, no trailing white space, no quote
// line, valid UTF-8 when the input was.
func checkOutput(t *testing.T, in, out string) {
	t.Helper()
	if strings.ContainsRune(out, '\r') {
		t.Fatalf("output has a CR: %q", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if isQuote(l) {
			t.Fatalf("output has a quote line %q", l)
		}
		if strings.TrimRight(l, " \t") != l {
			t.Fatalf("output line has trailing white space: %q", l)
		}
	}
	if utf8.ValidString(in) && !utf8.ValidString(out) {
		t.Fatalf("valid input gave invalid UTF-8: %q", out)
	}
}

func FuzzText(f *testing.F) {
	f.Add("Hi\n\nOn Mon, Jan 4, 2016 at 7:03 PM X <\nx@example.com> wrote:\n> q")
	f.Add("From: a\nSent: b\nTo: c\n")
	addSeeds(f, filepath.Join(corpusDir, "email_reply_trimmer", "*.in.txt"), "testdata/text/*.in.txt")
	for _, b := range badInputs {
		f.Add(b.build(20))
	}
	for _, l := range languages {
		for _, r := range l.signatures {
			f.Add("Hi\n" + r.example + "\n> q")
		}
		for _, r := range l.verbs {
			f.Add("Hi\n\n" + r.example + "\nold")
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := ExtractText(in)
		out := r.Text
		checkOutput(t, in, out)
		if len(out) > len(in) {
			t.Fatalf("output longer than input: %d > %d", len(out), len(in))
		}
		// Every line kept is a line of the input.
		lines := map[string]bool{}
		for _, l := range splitLines(in) {
			lines[l] = true
		}
		for _, l := range strings.Split(out, "\n") {
			if out != "" && !lines[l] {
				t.Fatalf("output line %q is not in the input", l)
			}
		}
	})
}

func FuzzHTML(f *testing.F) {
	f.Add("<div>Hi</div><blockquote>q</blockquote>")
	f.Add("<div id=appendonsend></div><p>x")
	addSeeds(f, filepath.Join(corpusDir, "talon", "html_replies", "*.in.html"), "testdata/html/*.in.html")
	f.Fuzz(func(t *testing.T, in string) {
		checkOutput(t, in, HTML(in))
	})
}
