// Package reply extracts the new text of a reply email: what a visitor typed
// above (or between) the quoted email, without the quote, the "On … wrote:"
// attribution, Outlook header blocks, forwarding separators or signatures.
//
// It is written here rather than imported: the Go ports of GitHub's
// email_reply_parser (mailstrip, recapco/emailreplyparser,
// web-ridge/email-reply-parser) have been unmaintained for years and know
// English only, and forgejo/reply, a port of Discourse's email_reply_trimmer,
// is plain-text only and needs a backtracking regexp engine. The rules below
// are line-based, use only RE2 regexps on bounded windows of text, and are
// measured against the email_reply_trimmer and talon corpora (see
// corpus_test.go).
//
// Text handles a text/plain body and HTML a text/html one; both return
// trimmed text, possibly empty when nothing new was written.
package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Result is what the extractor found in a reply body.
type Result struct {
	// Text is the new text: trimmed, possibly empty when nothing new was
	// written.
	Text string
	// Unsure is set when no quote, attribution, header block or separator
	// was found, yet the text is long and its end looks like an older
	// message (a header block or an attribution line in a language the
	// rules do not know): Text is then the whole body, and whoever shows it
	// should offer the original email as well.
	Unsure bool
}

// Text returns only the new text of a plain-text reply body (see
// ExtractText).
func Text(body string) string {
	return ExtractText(body).Text
}

// ExtractText returns the new text of a plain-text reply body.
//
// Lines starting with ">" are dropped wherever they are. Everything from the
// first attribution line ("On … wrote:" and its translations, possibly
// wrapped over several lines), Outlook header block ("From:/Sent:/To:…"),
// "Original Message"/"Forwarded message" separator, line of underscores,
// "-- " signature delimiter or "Sent from my iPhone"-style line on is cut.
// When one of these markers comes before any new text (a bottom-posted
// reply, or a bare forward), only the marker itself is dropped and what
// follows is kept. A mobile signature that names no known device or app
// ("Sent from my desk") is cut only when nothing but quoted history follows.
func ExtractText(body string) Result {
	lines := splitLines(body)
	fields := make([]string, len(lines)) // header field name of each line
	for i, l := range lines {
		fields[i] = fieldName(l)
	}
	kept := make([]string, 0, len(lines))
	hasContent := false // a kept line above is not blank
	dropped := false    // a quote was dropped since the last kept text
	marked := false     // a quote or another marker of quoted text was met

scan:
	for i := 0; i < len(lines); {
		line := lines[i]
		if isQuote(line) {
			dropped, marked = true, true
			i++
			continue
		}
		if n := attribution(lines, i); n > 0 {
			marked = true
			if hasContent {
				break
			}
			i += n
			continue
		}
		if n := headerBlock(lines, fields, i); n > 0 {
			marked = true
			if hasContent {
				break
			}
			i += n
			continue
		}
		switch {
		case isSeparator(line), isUnderscores(line):
			marked = true
			if hasContent {
				break scan
			}
			i++
			continue
		case isSignatureDelimiter(line):
			marked = true
			break scan
		}
		switch signatures.match(line) {
		case strongSignature:
			marked = true
			break scan
		case genericSignature:
			if endsHere(lines, fields, i+1) {
				marked = true
				break scan
			}
		}
		blank := isBlank(line)
		// The blank lines around a dropped quote would otherwise double up.
		if blank && dropped && len(kept) > 0 && isBlank(kept[len(kept)-1]) {
			i++
			continue
		}
		kept = append(kept, line)
		if !blank {
			hasContent, dropped = true, false
		}
		i++
	}

	// Drop the blank and rule-like lines ("-----", "***", a lone "ᐧ") that
	// separated the reply from what was cut, then leading blank lines.
	end := len(kept)
	for end > 0 && (isBlank(kept[end-1]) || isRule(kept[end-1])) {
		end--
	}
	start := 0
	for start < end && isBlank(kept[start]) {
		start++
	}
	kept = kept[start:end]
	return Result{
		Text:   strings.Join(kept, "\n"),
		Unsure: !marked && endsLikeOlderMessage(kept),
	}
}

// endsHere reports whether the text from lines[i] on holds nothing of the
// writer's: only blank lines, links, or quoted history.
func endsHere(lines, fields []string, i int) bool {
	for ; i < len(lines); i++ {
		if costHook != nil {
			costHook(1)
		}
		l := strings.TrimSpace(lines[i])
		switch {
		case isBlank(l), isLink(l):
			continue
		case isQuote(l), isSeparator(l), isUnderscores(l), isSignatureDelimiter(l),
			attribution(lines, i) > 0, headerBlock(lines, fields, i) > 0:
			return true
		}
		return false
	}
	return true
}

// isLink reports whether l is a bare link, as signatures of mail apps have
// on the line below ("<https://aka.ms/o0ukef>").
func isLink(l string) bool {
	l = strings.Trim(l, "<>‹›()[] ")
	return !strings.ContainsAny(l, " \t") && (strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "www."))
}

// costHook, when set (by tests only), is told the size of each window of
// text the costly tests look at, so that tests can check the work grows
// linearly with the input without timing it.
var costHook func(bytes int)

// splitLines normalises line endings to LF and trims trailing whitespace.
func splitLines(body string) []string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	return lines
}

func isQuote(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), ">")
}

// isBlank reports whether line holds only white space or invisible
// formatting characters (zero-width spaces, direction marks, BOM).
func isBlank(line string) bool {
	for _, r := range line {
		if !unicode.IsSpace(r) && !isInvisible(r) {
			return false
		}
	}
	return true
}

func isInvisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2060', '\ufeff', '\u00ad':
		return true
	}
	return false
}

// isRule reports whether line is made only of rule characters, such as the
// dashes Gmail puts above a quoted header, or "ᐧ" (U+1427), which mail
// trackers leave at the end of a message.
func isRule(line string) bool {
	seen := false
	for _, r := range line {
		switch {
		case unicode.IsSpace(r) || isInvisible(r):
		case strings.ContainsRune("-_=~+*#.•·ᐧ—–", r):
			seen = true
		default:
			return false
		}
	}
	return seen
}

func isUnderscores(line string) bool {
	l := strings.Trim(line, " \t*")
	return len(l) >= 5 && strings.Trim(l, "_") == ""
}

func isSignatureDelimiter(line string) bool {
	// "-- " is the standard delimiter (RFC 3676, 4.3); trailing spaces are
	// already trimmed and many clients drop the space anyway.
	return line == "--"
}

// maxAttributionBytes bounds the text tested as one attribution: real ones
// are a few hundred bytes at most, and the bound keeps Text linear.
const maxAttributionBytes = 1000

// maxAttributionLines is how many lines one attribution may span: mail
// clients wrap long ones, sometimes around the address
// ("On … Some One\n\n<\nmailto:…\n> wrote:").
const maxAttributionLines = 5

var (
	// dateOrTime makes a line ending with ":" above a quote an attribution
	// in any language ("02.04.2012 14:20 пользователь … написал:"): a full
	// date, a time or an address, not a mere year ("In 2019 I wrote:").
	dateOrTime = regexp.MustCompile(fullDate + `|\d{1,2}:\d{2}|@`)
	// dateFirst finds a full date near the start of a line, as in "ma 4.
	// tammik. 2016 klo 19.03 …" or "пн, 4 янв. 2016 г. в 19:03, …".
	dateFirst = regexp.MustCompile(fullDate)
)

// fullDate matches a day, month and year: numeric ("04.01.2016",
// "2016-01-04", "4. 1. 2016") or with the month's name ("4 janv. 2016",
// "Jan 4, 2016"), or a Chinese, Japanese or Korean date ("2016年1月4日",
// "2016년 1월 4일").
const fullDate = `\d{1,2}[./-] ?\d{1,2}[./-] ?\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}\.? \pL{3,}\.?,? \d{4}|\pL{3,}\.? \d{1,2},? \d{4}|\d{4}年\d{1,2}月\d{1,2}日|\d{4}년 \d{1,2}월 \d{1,2}일`

// attribution reports how many lines, from lines[i] on, form an
// attribution line, or 0.
func attribution(lines []string, i int) int {
	// Most lines are text: no line ending like an attribution follows.
	if !mayBeGmailDated(lines[i]) && !anyMayEndAttribution(lines[i:min(i+maxAttributionLines, len(lines))]) {
		return 0
	}
	if !attributionFirstLine(lines[i]) {
		return 0
	}
	for n := 1; n <= maxAttributionLines && i+n <= len(lines); n++ {
		last := lines[i+n-1]
		if n > 1 && isQuote(last) && !isAttributionTail(last) {
			return 0
		}
		// A blank line only ever splits an author from the address that
		// follows ("Some One\n\n<\nmailto:…"); elsewhere it ends a paragraph.
		if n > 1 && isBlank(lines[i+n-2]) && !strings.HasPrefix(strings.TrimSpace(last), "<") && !isBlank(last) {
			return 0
		}
		if !mayEndAttribution(last) && !mayBeGmailDated(lines[i]) {
			continue
		}
		w, ok := window(lines[i : i+n])
		if !ok {
			return 0
		}
		if !isAttribution(w, lines[i], n, lines[i+n:]) {
			continue
		}
		// A wrapped attribution must not swallow a line of text above it:
		// unless lines[i] plainly starts one, prefer a later start.
		if n > 1 && !strongStart(lines[i]) {
			for s := i + 1; s < i+n; s++ {
				if !attributionFirstLine(lines[s]) {
					continue
				}
				if w2, ok := window(lines[s : i+n]); ok && verbAttribution(w2, strings.TrimLeft(lines[s], " \t-*")) {
					return 0
				}
			}
		}
		return n
	}
	return 0
}

// mayEndAttribution is a quick test that line can end an attribution with
// a verb: the costly tests run only on the few lines that pass it.
func mayEndAttribution(line string) bool {
	return strings.HasSuffix(line, ":") || strings.HasSuffix(line, "：") || strings.HasSuffix(line, "-")
}

func anyMayEndAttribution(lines []string) bool {
	for _, l := range lines {
		if mayEndAttribution(l) {
			return true
		}
	}
	return false
}

// attributionEnd reports whether w ends with an attribution verb and a
// colon (or, for Zoho, "wrote ----").
func attributionEnd(w string) bool {
	var rest string
	switch {
	case strings.HasSuffix(w, ":"):
		rest = strings.TrimSuffix(w, ":")
	case strings.HasSuffix(w, "："):
		rest = strings.TrimSuffix(w, "：")
	case strings.HasSuffix(w, "--"):
		return endsWithWord(strings.TrimRight(strings.TrimRight(w, "-"), " "), "wrote")
	default:
		return false
	}
	rest = strings.TrimRight(rest, "  ")
	for _, v := range attributionVerbs {
		if endsWithWord(rest, v) {
			return true
		}
	}
	for _, v := range attributionVerbsFirst {
		if hasWord(w, v) {
			return true
		}
	}
	return false
}

// endsWithWord reports whether s ends with the word word, in any case.
// Words of scripts written without spaces (Chinese, Japanese) need no
// space before them: "…下午7:03写道".
func endsWithWord(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	i := len(s) - len(word)
	return strings.EqualFold(s[i:], word) && (i == 0 || s[i-1] == ' ' || noSpaceScript(word))
}

// noSpaceScript reports whether word starts with a character of a script
// written without spaces between words.
func noSpaceScript(word string) bool {
	r, _ := utf8.DecodeRuneInString(word)
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// hasWord reports whether s holds the lower-case word word.
func hasWord(s, word string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(word)
		if (i == 0 || s[i-1] == ' ') && (end == len(s) || s[end] == ' ' || s[end] == ':') {
			return true
		}
		off = end
	}
}

// startsWithAttributionWord reports whether l starts with one of
// attributionWords and a space.
func startsWithAttributionWord(l string) bool {
	sp := strings.IndexByte(l, ' ')
	if sp <= 0 || sp > 4 {
		return false
	}
	return attributionWords[strings.ToLower(l[:sp])]
}

// mayBeGmailDated is a quick test that line starts with a year and a dash or
// slash, as Gmail's attributions do in some locales, without a verb:
// "2016-03-03 17:21 GMT+01:00 Some One <some@one.example>:".
func mayBeGmailDated(line string) bool {
	l := strings.TrimLeft(line, " \t")
	return len(l) > 5 && isDigits(l[:4]) && (l[4] == '-' || l[4] == '/')
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isAttributionTail reports whether a line starting with ">" is really the
// end of a wrapped attribution ("> wrote:", ">:") rather than a quote.
func isAttributionTail(line string) bool {
	l := strings.TrimSpace(strings.TrimLeft(line, " \t>"))
	return l == ":" || attributionEnd(l)
}

// attributionFirstLine reports whether line can begin an attribution: it is
// not a quote and starts with a known word and a date, a date, or an author
// with an address.
func attributionFirstLine(line string) bool {
	if len(line) > maxAttributionBytes || isQuote(line) {
		return false
	}
	l := strings.TrimLeft(line, " \t-*")
	if l == "" {
		return false
	}
	if l[0] >= '0' && l[0] <= '9' {
		return true
	}
	if strings.Contains(l, "@") || strings.HasSuffix(l, "<") {
		return true
	}
	if startsWithAttributionWord(l) && strings.ContainsAny(l, "0123456789") {
		return true
	}
	// A line of any language with a date or time may still be one, when a
	// quote follows (checked by isAttribution).
	if costHook != nil {
		costHook(len(l))
	}
	return strings.ContainsAny(l, "0123456789") && dateOrTime.MatchString(l)
}

// window joins lines with single spaces, without leading dashes or stars
// (Zoho writes "---- On … wrote ----").
func window(lines []string) (string, bool) {
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	if costHook != nil {
		costHook(size)
	}
	if size > maxAttributionBytes {
		return "", false
	}
	w := strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
	return strings.TrimLeft(w, "-* "), true
}

// strongStart reports whether line can only be the start of an attribution
// when one follows: a date first, a known word and a date, or an author
// whose address is wrapped to the next line.
func strongStart(line string) bool {
	l := strings.TrimLeft(line, " \t-*")
	return l != "" && (l[0] >= '0' && l[0] <= '9' ||
		strings.HasSuffix(l, "<") ||
		startsWithAttributionWord(l) && strings.ContainsAny(l, "0123456789") ||
		startsWithDate(l))
}

// startsWithDate reports whether a full date begins within the first 16
// characters of l. Only the start of l is searched, so that the cost does
// not depend on the length of the line.
func startsWithDate(l string) bool {
	p := l[:min(len(l), 80)]
	if d := strings.IndexAny(p, "0123456789"); d < 0 || d > 48 {
		return false // no digit among the first 16 characters
	}
	loc := dateFirst.FindStringIndex(p)
	return loc != nil && utf8.RuneCountInString(p[:loc[0]]) <= 16
}

// isAttribution reports whether the n lines joined in w, the first of
// which is first and which rest follows, are an attribution.
func isAttribution(w, first string, n int, rest []string) bool {
	first = strings.TrimLeft(strings.Join(strings.Fields(first), " "), "-* ")
	if verbAttribution(w, first) {
		return true
	}
	// Any other language: "…DATE…NAME…:", on one line or wrapped once, just
	// above a quote.
	return n <= 2 && (strings.HasSuffix(w, ":") || strings.HasSuffix(w, "：")) &&
		quoteFollows(rest) && dateOrTime.MatchString(first)
}

// verbAttribution reports whether w is an attribution with its verb ("On …
// wrote:") or Gmail's dated form. The cheap tests come first.
func verbAttribution(w, first string) bool {
	if mayBeGmailDated(w) && (strings.Contains(w, "GMT+") || strings.Contains(w, "GMT-") ||
		strings.Contains(w, "@") && (strings.HasSuffix(w, ">") || strings.HasSuffix(w, ">:"))) {
		return true
	}
	if !mayEndAttribution(w) {
		return false
	}
	// No verb, in many languages: "пн, 4 янв. 2016 г. в 19:03, Jane
	// <jane@example.com>:", "2016年1月4日(月) 19:03 Jane <jane@example.com>:".
	if (strings.HasSuffix(w, ">:") || strings.HasSuffix(w, ">：")) && strings.Contains(w, "@") && strongStart(first) {
		return true
	}
	// The author may come first when a date follows ("Jane kirjoitti
	// 4.1.2016 klo 19.03:").
	return attributionEnd(w) && (strings.Contains(w, "@") || strongStart(first) || dateOrTime.MatchString(first))
}

func quoteFollows(rest []string) bool {
	for _, l := range rest {
		if isBlank(l) {
			continue
		}
		return isQuote(l)
	}
	return false
}

// A header field line in a quoted email: "From: …", "*De :* …" (bold in
// Outlook's plain text), "Envoyé : …", "Reply-To: …", "Enviado el: …".
const maxFieldName = 40

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// fieldName returns the lower-cased name of the header field line starts
// with ("from", "envoyé"), or "" when it does not start with one.
func fieldName(line string) string {
	c := strings.IndexByte(line, ':')
	if c < 0 || c > maxFieldName {
		// Chinese and Japanese clients may write a full-width colon.
		c = strings.Index(line[:min(len(line), maxFieldName+3)], "：")
		if c < 0 {
			return ""
		}
		line = line[:c] + ": " + line[c+len("："):]
	}
	if rest := strings.TrimLeft(line[c+1:], "*_"); rest != "" && !startsWithSpace(rest) {
		return "" // "http://…", "10:30"
	}
	name := strings.TrimFunc(line[:c], func(r rune) bool {
		return r == '*' || r == '_' || unicode.IsSpace(r)
	})
	spaces := 0
	for i, r := range name {
		switch {
		case unicode.IsLetter(r):
		case r == '-' && i > 0:
		case r == ' ' && i > 0 && spaces == 0:
			spaces++
		default:
			return ""
		}
	}
	return strings.ToLower(name)
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// headerBlock reports how many lines, from lines[i] on, form the header
// block Outlook and others put above a quoted email ("From:" and at least two
// of "Sent:", "To:", "Subject:"… in the next lines), or 0. The block ends at
// the first blank line, as a long subject may wrap.
// fields holds the field name of each line (see fieldName).
func headerBlock(lines, fields []string, i int) int {
	if !fromFields[fields[i]] {
		return 0
	}
	others := 0
	for j := i + 1; j < len(lines) && j <= i+6; j++ {
		if otherFields[fields[j]] {
			others++
		}
	}
	if others < 2 {
		return 0
	}
	n := 1
	for i+n < len(lines) && !isBlank(lines[i+n]) {
		n++
	}
	if costHook != nil {
		costHook(n)
	}
	return n
}

var separatorRule = regexp.MustCompile(`^[*_ ]*-{2,} ?(.+?) ?-{2,}[*_ ]*$`)

func isSeparator(line string) bool {
	if len(line) > 200 || !strings.ContainsAny(line, "-:") {
		return false
	}
	l := strings.ToLower(strings.Join(strings.Fields(line), " "))
	if separatorLines[l] {
		return true
	}
	for _, d := range separatorDated {
		if strings.HasPrefix(l, d+" ") && dateOrTime.MatchString(l[len(d):]) && len(l) < len(d)+30 {
			return true
		}
	}
	m := separatorRule.FindStringSubmatch(l)
	if m == nil {
		return false
	}
	name := strings.Trim(m[1], " *_")
	// Android's "---- Jane Doe wrote ----", in any language.
	return separatorNames[name] || attributionEnd(name+":")
}

// unsureMinLines is how many non-blank lines a text without any quote
// marker needs before its end is examined: a short text is read whole
// anyway.
const unsureMinLines = 10

// endsLikeOlderMessage reports whether the second half of lines, long
// enough, holds what starts a quoted email in a form the rules do not know:
// a header block of three fields or more with an address, an attribution
// line with an address, a date and a colon, or a dashed separator. Something
// must follow it.
func endsLikeOlderMessage(lines []string) bool {
	nonBlank := 0
	for _, l := range lines {
		if !isBlank(l) {
			nonBlank++
		}
	}
	if nonBlank < unsureMinLines {
		return false
	}
	run, address := 0, false // header field lines in a row, one with an address
	for i := len(lines) / 2; i < len(lines)-1; i++ {
		l := strings.TrimSpace(lines[i])
		if len(l) > maxAttributionBytes {
			run = 0
			continue
		}
		if fieldName(l) != "" {
			if run == 0 {
				address = false
			}
			run++
			address = address || strings.Contains(l, "@")
			if run >= 3 && address {
				return true
			}
			continue
		}
		run = 0
		switch {
		case mayEndAttribution(l) && strings.Contains(l, "@") && dateOrTime.MatchString(l):
			return true
		case strings.HasPrefix(l, "--") && separatorRule.MatchString(l):
			return true
		}
	}
	return false
}
