package inbound

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// The reply corpus: testdata/replies/LANG/CLIENT.eml, replies to a Parley
// email as the common mail clients of each language write them, in plain
// text, HTML only and multipart, in the charsets those clients use, with
// the visitor's new text in CLIENT.want.txt. The files are written by
// writeReplyCorpus from corpusLangs and corpusClients; run
//
//	go test ./internal/mail/inbound -run TestReplyCorpus -regenerate-replies
//
// after changing them. TestReplyCorpus prints the exact-match score per
// language and per client and fails when one falls below the figures
// recorded in testdata/replies/SCORES.
var regenerateReplies = flag.Bool("regenerate-replies", false, "rewrite testdata/replies from the corpus definitions, and its SCORES")

const repliesDir = "testdata/replies"

// Parley's sender, as the visitor's client quotes it. The long reply
// address makes clients wrap their attribution lines.
const (
	corpusSenderName = "ACME Support"
	corpusSenderAddr = "reply+ah2q4ayhbnkgm3n6rluxmlrmvwlkqbvbgq7mvq4a5xk2e@reply.acme.example"
)

// corpusFile is one generated message.
type corpusFile struct {
	lang, client string
	eml          []byte
	want         string
}

// corpusClient writes the message one mail client sends for a language.
type corpusClient struct {
	name  string
	build func(l corpusLang, i int) corpusMessage
}

// corpusMessage is a generated email before serialisation: a text/plain body, an
// HTML body, or both (multipart/alternative).
type corpusMessage struct {
	plain, html     string
	charset         string // of both parts
	encoding        string // "quoted-printable", "base64", "8bit" or "7bit"
	flowed          bool   // text/plain; format=flowed
	mailer, subject string
	want            string // the expected new text, when not l.reply
}

var corpusClients = []corpusClient{
	{"gmail", gmailMessage},
	{"apple", appleMessage},
	{"outlook", outlookMessage},
	{"outlook-web", outlookWebMessage},
	{"thunderbird", thunderbirdMessage},
	{"samsung", samsungMessage},
	{"android", androidMessage},
	{"yahoo", yahooMessage},
}

func attributionFor(tmpl string) string {
	return strings.NewReplacer("NAME", corpusSenderName, "ADDR", corpusSenderAddr).Replace(tmpl)
}

func quote(text, prefix string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = strings.TrimRight(prefix, " ")
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// wrap breaks line as Gmail's text/plain part does: after the "<" of the
// address when the line is longer than 78 characters, else at the last
// space that fits.
func wrap(line string) string {
	if len([]rune(line)) <= 78 {
		return line
	}
	if i := strings.Index(line, " <"); i > 0 {
		return line[:i+2] + "\n" + line[i+2:]
	}
	if i := strings.LastIndex(string([]rune(line)[:78]), " "); i > 0 {
		return line[:i] + "\n" + line[i+1:]
	}
	return line
}

func htmlLines(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if l == "" {
			b.WriteString("<div><br></div>")
		} else {
			b.WriteString("<div>" + html.EscapeString(l) + "</div>")
		}
	}
	return b.String()
}

func htmlAttribution(a string) string {
	e := html.EscapeString(a)
	return strings.Replace(e, html.EscapeString(corpusSenderAddr),
		`<a href="mailto:`+corpusSenderAddr+`">`+corpusSenderAddr+`</a>`, 1)
}

func gmailMessage(l corpusLang, i int) corpusMessage {
	attr := attributionFor(l.gmail)
	return corpusMessage{
		plain: l.reply + "\n\n" + wrap(attr) + "\n\n" + quote(l.quoted, "> ") + "\n",
		html: `<div dir="ltr">` + htmlLines(l.reply) + `</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">` +
			htmlAttribution(attr) + `<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">` +
			htmlLines(l.quoted) + "</blockquote></div>\n",
		charset: "utf-8", encoding: "quoted-printable",
	}
}

// appleMessage is iOS Mail (plain text, signature, quoted attribution) for
// even languages and Apple Mail on a Mac (multipart, blockquote) for odd
// ones.
func appleMessage(l corpusLang, i int) corpusMessage {
	attr := attributionFor(l.apple)
	if i%2 == 0 {
		return corpusMessage{
			plain:   l.reply + "\n\n" + l.iosSig + "\n\n" + quote(attr+"\n\n"+l.quoted, "> ") + "\n",
			charset: "utf-8", encoding: "quoted-printable", mailer: "iPhone Mail (13C75)",
		}
	}
	return corpusMessage{
		plain: l.reply + "\n\n" + attr + "\n\n" + quote(l.quoted, "> ") + "\n",
		html: `<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto">` +
			htmlLines(l.reply) + `<div><br><blockquote type="cite">` + html.EscapeString(attr) + `<br><br></blockquote></div><blockquote type="cite">` +
			htmlLines(l.quoted) + "</blockquote></body></html>\n",
		charset: "utf-8", encoding: "quoted-printable", mailer: "Apple Mail (2.3445.104.11)",
	}
}

func outlookHeader(l corpusLang, i int, sep string) []string {
	from := corpusSenderName + " <" + corpusSenderAddr + ">"
	if i%3 == 0 {
		from = corpusSenderName + " [mailto:" + corpusSenderAddr + "]"
	}
	return []string{
		l.outlook[0] + ": " + from,
		l.outlook[1] + ": " + l.sentDate,
		l.outlook[2] + ": " + l.visitor,
		l.outlook[3] + ": " + strings.TrimPrefix(l.subject[strings.Index(l.subject, ":")+1:], " "),
	}
}

// outlookMessage is Outlook for Windows: multipart for even languages,
// HTML only for odd ones, in the language's legacy charset; its text part
// has no quote marks, only the header block.
func outlookMessage(l corpusLang, i int) corpusMessage {
	hdr := outlookHeader(l, i, "")
	m := corpusMessage{charset: l.charsets[0], encoding: "quoted-printable", mailer: "Microsoft Outlook 16.0"}
	var b strings.Builder
	b.WriteString(`<html><head><meta http-equiv=Content-Type content="text/html; charset=` + m.charset + `"><style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang=` + strings.ToUpper(l.code) + `><div class=WordSection1>`)
	for _, line := range strings.Split(l.reply, "\n") {
		if line == "" {
			b.WriteString("<p class=MsoNormal><o:p>&nbsp;</o:p></p>")
		} else {
			b.WriteString("<p class=MsoNormal>" + html.EscapeString(line) + "<o:p></o:p></p>")
		}
	}
	b.WriteString(`<p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal>`)
	for k, h := range hdr {
		name, value, _ := strings.Cut(h, ": ")
		if k > 0 {
			b.WriteString("<br>")
		}
		b.WriteString("<b>" + html.EscapeString(name) + ":</b> " + html.EscapeString(value))
	}
	b.WriteString(`<o:p></o:p></p></div></div><p class=MsoNormal><o:p>&nbsp;</o:p></p>`)
	for _, line := range strings.Split(l.quoted, "\n") {
		b.WriteString("<p class=MsoNormal>" + html.EscapeString(line) + "<o:p></o:p></p>")
	}
	b.WriteString("</div></body></html>\n")
	m.html = b.String()
	if i%2 == 0 {
		m.plain = l.reply + "\n\n" + strings.Join(hdr, "\n") + "\n\n" + l.quoted + "\n"
	}
	return m
}

// outlookWebMessage is Outlook on the web and new Outlook: HTML only.
func outlookWebMessage(l corpusLang, i int) corpusMessage {
	var b strings.Builder
	b.WriteString(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=` + l.charsets[len(l.charsets)-1] + `"></head><body><div style="font-family: Aptos, sans-serif; font-size: 12pt">`)
	b.WriteString(htmlLines(l.reply))
	b.WriteString(`</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">`)
	for k, h := range outlookHeader(l, i+1, "") {
		name, value, _ := strings.Cut(h, ": ")
		if k > 0 {
			b.WriteString("<br>")
		}
		b.WriteString("<b>" + html.EscapeString(name) + ":</b> " + html.EscapeString(value))
	}
	b.WriteString(`</font><div>&nbsp;</div></div><div>` + htmlLines(l.quoted) + "</div></body></html>\n")
	return corpusMessage{html: b.String(), charset: l.charsets[len(l.charsets)-1], encoding: "quoted-printable"}
}

func thunderbirdMessage(l corpusLang, i int) corpusMessage {
	return corpusMessage{
		plain:   l.reply + "\n\n" + attributionFor(l.thunderbird) + "\n" + quote(l.quoted, "> ") + "\n",
		charset: l.charsets[len(l.charsets)-1], encoding: "8bit", flowed: true,
		mailer: "Mozilla Thunderbird",
	}
}

// samsungMessage is Samsung Email: HTML only, the signature in its own
// div, the quoted email below a separator and a header block, unmarked.
func samsungMessage(l corpusLang, i int) corpusMessage {
	sig := "Samsung Galaxy"
	return corpusMessage{
		html: `<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body><div dir="auto">` + htmlLines(l.reply) +
			`</div><div dir="auto"><br></div><div id="composer_signature" dir="auto"><div style="font-size:85%;color:#575757" dir="auto">` +
			html.EscapeString(strings.Replace(l.iosSig, "iPhone", sig, 1)) + `</div></div><div dir="auto"><br></div><div align="left" dir="auto" style="font-size:100%;color:#000000"><div>` +
			html.EscapeString(l.samsungSep) + `</div><div>` + html.EscapeString(l.outlook[0]) + `: ` + html.EscapeString(corpusSenderName+" <"+corpusSenderAddr+">") + ` </div><div>` +
			html.EscapeString(l.samsungDate) + `: 04/01/2016 19:03 (GMT+01:00) </div><div>` + html.EscapeString(l.outlook[2]) + `: ` + html.EscapeString(l.visitor) + ` </div><div>` +
			html.EscapeString(l.outlook[3]) + `: ` + html.EscapeString(l.subject) + ` </div><div><br></div></div>` + htmlLines(l.quoted) + "</body></html>\n",
		charset: "utf-8", encoding: "base64",
	}
}

// androidMessage is an Android mail app writing plain text: its own
// signature (with a link for some), then "---- NAME wrote ----" and the
// quoted email, unmarked.
func androidMessage(l corpusLang, i int) corpusMessage {
	return corpusMessage{
		plain:   l.reply + "\n\n" + l.androidSig + "\n\n---- " + corpusSenderName + " " + l.androidWrote + " ----\n\n" + l.quoted + "\n",
		charset: "utf-8", encoding: "8bit",
	}
}

// yahooMessage is Yahoo Mail: multipart, its text part indenting the
// attribution and leaving the quote unmarked.
func yahooMessage(l corpusLang, i int) corpusMessage {
	attr := attributionFor(l.yahoo)
	return corpusMessage{
		plain: l.reply + "\n\n    " + attr + "  \n \n " + strings.ReplaceAll(l.quoted, "\n", "\n ") + "\n",
		html: `<html><head></head><body><div class="ydp3f2a yahoo-style-wrap" style="font-family:Helvetica, Arial, sans-serif;font-size:13px;">` + htmlLines(l.reply) +
			`</div><div id="yahoo_quoted_1234567" class="yahoo_quoted"><div style="font-family:'Helvetica Neue', Helvetica, Arial, sans-serif;font-size:13px;color:#26282a;"><div>` +
			htmlAttribution(attr) + `</div><div><br></div><div><br></div><div><div dir="ltr">` + htmlLines(l.quoted) + "</div></div></div></div></body></html>\n",
		charset: "utf-8", encoding: "base64", mailer: "WebService/1.1.21797 YMailNorrin",
	}
}

// writeMessage serialises m as the raw email a visitor sends.
func writeMessage(l corpusLang, client string, i int, m corpusMessage) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("Return-Path", "<visitor@example.net>")
	h("From", mime.QEncoding.Encode("utf-8", l.visitor)+" <visitor."+l.code+"@example.net>")
	h("To", mime.QEncoding.Encode("utf-8", corpusSenderName)+" <"+corpusSenderAddr+">")
	subject := l.subject
	if m.subject != "" {
		subject = m.subject
	}
	h("Subject", mime.BEncoding.Encode("utf-8", subject))
	h("Date", "Tue, 05 Jan 2016 09:1"+strconv.Itoa(i%10)+":00 +0100")
	h("Message-ID", "<"+l.code+"."+client+"@example.net>")
	h("In-Reply-To", "<c1.10482@acme.example>")
	if m.mailer != "" {
		h("X-Mailer", m.mailer)
	}
	h("MIME-Version", "1.0")
	parts := []struct{ typ, body string }{}
	if m.plain != "" {
		parts = append(parts, struct{ typ, body string }{"text/plain", m.plain})
	}
	if m.html != "" {
		parts = append(parts, struct{ typ, body string }{"text/html", m.html})
	}
	boundary := "----=_Part_" + l.code + "_" + client
	if len(parts) > 1 {
		h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
		b.WriteString("\r\n")
	}
	for _, p := range parts {
		if len(parts) > 1 {
			b.WriteString("--" + boundary + "\r\n")
		}
		data, err := encodeCharset(p.body, m.charset)
		if err != nil {
			return nil, fmt.Errorf("%s/%s %s: %w", l.code, client, p.typ, err)
		}
		ct := p.typ + "; charset=" + m.charset
		if m.flowed && p.typ == "text/plain" {
			ct += "; format=flowed"
		}
		enc := m.encoding
		if m.charset == "iso-2022-jp" {
			enc = "7bit"
		}
		h("Content-Type", ct)
		h("Content-Transfer-Encoding", enc)
		b.WriteString("\r\n")
		body := crlf(data)
		switch enc {
		case "quoted-printable":
			var q bytes.Buffer
			w := quotedprintable.NewWriter(&q)
			w.Write(body)
			w.Close()
			body = q.Bytes()
		case "base64":
			s := base64.StdEncoding.EncodeToString(body)
			var q bytes.Buffer
			for len(s) > 76 {
				q.WriteString(s[:76] + "\r\n")
				s = s[76:]
			}
			q.WriteString(s + "\r\n")
			body = q.Bytes()
		}
		b.Write(body)
		if !bytes.HasSuffix(body, []byte("\n")) {
			b.WriteString("\r\n")
		}
	}
	if len(parts) > 1 {
		b.WriteString("--" + boundary + "--\r\n")
	}
	return b.Bytes(), nil
}

func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// encodeCharset encodes s in charset, failing on a character the charset
// cannot hold rather than replacing it.
func encodeCharset(s, charset string) ([]byte, error) {
	if charset == "utf-8" {
		return []byte(s), nil
	}
	enc, err := ianaindex.MIME.Encoding(charset)
	if err != nil || enc == nil {
		enc, err = htmlindex.Get(charset)
	}
	if err != nil || enc == nil {
		return nil, fmt.Errorf("charset %s: %v", charset, err)
	}
	out, err := encoding.HTMLEscapeUnsupported(enc.NewEncoder()).Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("encode in %s: %w", charset, err)
	}
	if bytes.Contains(out, []byte("&#")) && !strings.Contains(s, "&#") {
		return nil, fmt.Errorf("%s cannot hold all of %q", charset, s)
	}
	return out, nil
}

// buildReplyCorpus generates every message of the corpus.
func buildReplyCorpus() ([]corpusFile, error) {
	var files []corpusFile
	for i, l := range corpusLangs {
		for _, c := range corpusClients {
			m := c.build(l, i)
			eml, err := writeMessage(l, c.name, i, m)
			if err != nil {
				return nil, err
			}
			want := l.reply
			if m.want != "" {
				want = m.want
			}
			files = append(files, corpusFile{lang: l.code, client: c.name, eml: eml, want: want})
		}
	}
	return files, nil
}

func (f corpusFile) path(ext string) string {
	return filepath.Join(repliesDir, f.lang, f.client+ext)
}

// corpusResult is the extraction of one corpus message.
type corpusResult struct {
	file  corpusFile
	got   string
	exact bool
}

// scoreReplyCorpus parses every message of the corpus as it is on disk.
func scoreReplyCorpus(t *testing.T) []corpusResult {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repliesDir, "*", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", repliesDir, err)
	}
	var results []corpusResult
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := corpusFile{lang: filepath.Base(filepath.Dir(path)), client: strings.TrimSuffix(filepath.Base(path), ".eml"), eml: raw}
		f.want = strings.TrimSpace(readFile(t, f.path(".want.txt")))
		m, err := Parse(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		results = append(results, corpusResult{file: f, got: m.NewText, exact: m.NewText == f.want})
	}
	return results
}

type tally struct{ exact, total int }

// TestReplyCorpus parses the corpus and compares the new text with the
// expected one, exactly.
func TestReplyCorpus(t *testing.T) {
	if *regenerateReplies {
		files, err := buildReplyCorpus()
		if err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(repliesDir)
		for _, f := range files {
			if err := os.MkdirAll(filepath.Dir(f.path("")), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path(".eml"), f.eml, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path(".want.txt"), []byte(f.want+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	results := scoreReplyCorpus(t)
	if len(results) < 150 {
		t.Errorf("the corpus has %d messages, fewer than 150", len(results))
	}
	scores := map[string]*tally{}
	count := func(key string, exact bool) {
		s := scores[key]
		if s == nil {
			s = &tally{}
			scores[key] = s
		}
		s.total++
		if exact {
			s.exact++
		}
	}
	for _, r := range results {
		count("all", r.exact)
		count("lang "+r.file.lang, r.exact)
		count("client "+r.file.client, r.exact)
		if !r.exact {
			t.Logf("MISMATCH %s/%s\n--- got:\n%s\n--- want:\n%s", r.file.lang, r.file.client, r.got, r.file.want)
		}
	}
	keys := make([]string, 0, len(scores))
	for k := range scores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var table strings.Builder
	for _, k := range keys {
		s := scores[k]
		fmt.Fprintf(&table, "%-20s %3d/%-3d %5.1f%%\n", k, s.exact, s.total, 100*float64(s.exact)/float64(s.total))
	}
	t.Logf("exact matches:\n%s", table.String())

	scoresFile := filepath.Join(repliesDir, "SCORES")
	if *regenerateReplies {
		header := "# Exact matches of the reply corpus, as last recorded: TestReplyCorpus fails\n# when a figure drops. Raise them when the rules improve.\n"
		if err := os.WriteFile(scoresFile, []byte(header+table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	recorded, err := readScores(scoresFile)
	if err != nil {
		t.Fatal(err)
	}
	for k, floor := range recorded {
		s := scores[k]
		if s == nil {
			t.Errorf("%s: recorded in SCORES but absent from the corpus", k)
			continue
		}
		if s.exact < floor {
			t.Errorf("%s: %d/%d exact, below the recorded %d", k, s.exact, s.total, floor)
		}
	}
}

// readScores reads the exact-match counts recorded in SCORES.
func readScores(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read recorded scores: %w", err)
	}
	defer f.Close()
	scores := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		// "lang fr   8/8   100.0%" or "all 180/184 97.8%"
		var key, count string
		switch len(fields) {
		case 3:
			key, count = fields[0], fields[1]
		case 4:
			key, count = fields[0]+" "+fields[1], fields[2]
		default:
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		exact, _, _ := strings.Cut(count, "/")
		n, err := strconv.Atoi(exact)
		if err != nil {
			return nil, fmt.Errorf("%s: bad line %q: %w", path, line, err)
		}
		scores[key] = n
	}
	return scores, sc.Err()
}

// TestReplyCorpusUpToDate checks that the files on disk are what the
// corpus definitions generate, so that neither is edited alone.
func TestReplyCorpusUpToDate(t *testing.T) {
	files, err := buildReplyCorpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		eml, err := os.ReadFile(f.path(".eml"))
		if err != nil {
			t.Errorf("%v (run with -regenerate-replies)", err)
			continue
		}
		if !bytes.Equal(eml, f.eml) {
			t.Errorf("%s differs from its definition (run with -regenerate-replies)", f.path(".eml"))
		}
		if want := readFile(t, f.path(".want.txt")); want != f.want+"\n" {
			t.Errorf("%s differs from its definition", f.path(".want.txt"))
		}
	}
}

// BenchmarkParseReplies parses and extracts every message of the reply
// corpus.
func BenchmarkParseReplies(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(repliesDir, "*", "*.eml"))
	if len(files) == 0 {
		b.Skip("no reply corpus")
	}
	var msgs [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, raw)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msgs[n%len(msgs)])); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
