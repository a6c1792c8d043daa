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

// Text returns only the new text of a plain-text reply body.
//
// Lines starting with ">" are dropped wherever they are. Everything from the
// first attribution line ("On … wrote:" and its translations, possibly
// wrapped over several lines), Outlook header block ("From:/Sent:/To:…"),
// "Original Message"/"Forwarded message" separator, line of underscores,
// "-- " signature delimiter or "Sent from my iPhone"-style line on is cut.
// When one of these markers comes before any new text (a bottom-posted
// reply, or a bare forward), only the marker itself is dropped and what
// follows is kept.
func Text(body string) string {
	lines := splitLines(body)
	fields := make([]string, len(lines)) // header field name of each line
	for i, l := range lines {
		fields[i] = fieldName(l)
	}
	kept := make([]string, 0, len(lines))
	hasContent := false // a kept line above is not blank
	dropped := false    // a quote was dropped since the last kept text

scan:
	for i := 0; i < len(lines); {
		line := lines[i]
		if isQuote(line) {
			dropped = true
			i++
			continue
		}
		if n := attribution(lines, i); n > 0 {
			if hasContent {
				break
			}
			i += n
			continue
		}
		if n := headerBlock(lines, fields, i); n > 0 {
			if hasContent {
				break
			}
			i += n
			continue
		}
		switch {
		case isSeparator(line), isUnderscores(line):
			if hasContent {
				break scan
			}
			i++
			continue
		case isSignatureDelimiter(line), isMobileSignature(line):
			break scan
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
	return strings.Join(kept[start:end], "\n")
}

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

// attributionWords are how an "On … wrote:" line begins in the languages
// handled, before the date.
var attributionWords = setOf("on", "at", "le", "am", "el", "em", "il", "op", "den", "dnia", "w")

// attributionVerbs end an attribution, before its colon ("… wrote:").
var attributionVerbs = []string{
	"wrote", "a écrit", "escribió", "escreveu", "ha scritto", "het volgende geschreven",
	"napisał(a)", "napisała", "napisał", "написала", "написал", "пише", "kirjoitti",
}

// attributionVerbsFirst are the German, Dutch and Scandinavian verbs that the
// author or the date may follow ("schrieb am … um 11:53 Uhr:").
var attributionVerbsFirst = []string{"schrieb", "schreef", "skrev"}

var (
	// dateOrTime makes a line ending with ":" above a quote an attribution
	// in any language ("02.04.2012 14:20 пользователь … написал:"): a full
	// date, a time or an address, not a mere year ("In 2019 I wrote:").
	dateOrTime = regexp.MustCompile(`\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}\.? \pL{3,}\.?,? \d{4}|\pL{3,}\.? \d{1,2},? \d{4}|\d{1,2}:\d{2}|@`)
)

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
	rest = strings.TrimRight(rest, " ")
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
func endsWithWord(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	i := len(s) - len(word)
	return strings.EqualFold(s[i:], word) && (i == 0 || s[i-1] == ' ')
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
	return strings.ContainsAny(l, "0123456789") && dateOrTime.MatchString(l)
}

// window joins lines with single spaces, without leading dashes or stars
// (Zoho writes "---- On … wrote ----").
func window(lines []string) (string, bool) {
	size := 0
	for _, l := range lines {
		size += len(l) + 1
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
		startsWithAttributionWord(l) && strings.ContainsAny(l, "0123456789"))
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
		dateOrTime.MatchString(first) && quoteFollows(rest)
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
	return (strongStart(first) || strings.Contains(w, "@")) && attributionEnd(w)
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

var fromFields = setOf("from", "de", "von", "da", "van", "från", "fra", "od", "от")

var otherFields = setOf(
	"sent", "date", "to", "cc", "bcc", "subject", "reply-to",
	"envoyé", "à", "objet", "répondre à",
	"gesendet", "datum", "an", "betreff", "antwort an",
	"enviado", "enviada", "enviado el", "fecha", "para", "asunto", "assunto", "responder a",
	"inviato", "data", "a", "oggetto", "risposta", "rispondi a",
	"verzonden", "aan", "onderwerp", "beantwoorden",
	"skickat", "till", "ämne", "sendt", "til", "emne",
	"wysłano", "do", "temat", "отправлено", "дата", "кому", "тема", "копия",
)

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
		return ""
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
	return n
}

var separatorRule = regexp.MustCompile(`^[*_ ]*-{2,} ?(.+?) ?-{2,}[*_ ]*$`)

var separatorNames = setOf(
	"original message", "forwarded message", "reply message",
	"message d'origine", "message d’origine", "message original", "message transféré",
	"ursprüngliche nachricht", "original-nachricht", "originalnachricht", "weitergeleitete nachricht",
	"mensaje original", "mensaje reenviado",
	"mensagem original", "mensagem encaminhada", "mensagem reencaminhada",
	"messaggio originale", "messaggio inoltrato",
	"oorspronkelijk bericht", "origineel bericht", "doorgestuurd bericht",
	"originalmeddelande", "vidarebefordrat meddelande", "opprinnelig melding",
	"videresendt melding", "oprindelig meddelelse", "videresendt meddelelse",
	"wiadomość oryginalna", "исходное сообщение", "пересылаемое сообщение",
)

// separatorLines are whole-line separators, as Apple Mail writes them above a
// forwarded message.
var separatorLines = setOf(
	"begin forwarded message:", "début du message réexpédié :", "début du message réexpédié:",
	"anfang der weitergeleiteten nachricht:", "inicio del mensaje reenviado:",
	"início da mensagem reencaminhada:", "inizio messaggio inoltrato:",
	"begin doorgestuurd bericht:",
)

func isSeparator(line string) bool {
	if len(line) > 200 || !strings.ContainsAny(line, "-:") {
		return false
	}
	l := strings.ToLower(strings.Join(strings.Fields(line), " "))
	if separatorLines[l] {
		return true
	}
	m := separatorRule.FindStringSubmatch(l)
	return m != nil && separatorNames[strings.Trim(m[1], " *_")]
}

// Mobile signatures: the line a mail app adds below what was typed on a
// phone. Those naming the device or app ("Sent from my iPhone", "Von meinem
// iPhone gesendet", "Get Outlook for Android") are unambiguous;
// "Sent with/via/using X" counts only without sentence punctuation, so that
// "Sent via DHL, tracking 123" stays.
const devices = `(?:iphone|ipad|ipod|android|samsung|galaxy|smartphone|mobile|cell|phone|tablet|telefon|téléphone|mobil|blackberry|huawei|xiaomi|pixel|outlook|yahoo|aol|gmail|mail|windows|windows mail|e-?mail|appareil|dispositivo|dispositif|cellulare|telefono|celular|móvil|mobiel|telefoon|gerät)`

var (
	mobileSignature = regexp.MustCompile(`(?i)^[\s(<*_]*(?:` +
		`sent from my .+` +
		`|sent from (?:the )?` + devices + `\b.*` +
		`|(?:get|obtenir|obtener|obter o|scarica) (?:\[)?outlook (?:for|pour|para|per) .+` +
		`|outlook (?:für|voor) .+ (?:herunterladen|downloaden)` +
		`|envoyé (?:de|depuis|avec) (?:mon|ma|un|une|l'application|outlook|yahoo)\b.*` +
		`|von meine[mn] .+ gesendet\.?|gesendet von meine[mn] .+` +
		`|diese nachricht wurde von meinem .+ gesendet\.?` +
		`|enviado (?:desde|de|do|com|a partir do|a partir de) (?:mi|meu|minha|o meu|o|a|un|uma|my|outlook|yahoo|iphone|ipad)\b.*` +
		`|inviato da(?:l mio| il mio| un| una)? ` + devices + `\b.*` +
		`|verzonden (?:vanaf|van|met|via) (?:mijn |de |een )?` + devices + `\b.*` +
		`|sendt fra min .+|skickat från min .+|wysłane z (?:mojego |mojej )?` + devices + `\b.*|отправлено с .+` +
		`)$`)
	sentWith = regexp.MustCompile(`(?i)^[\s(<*_]*sent (?:from|with|via|using|by) [^,;.!?]+[)>*_\s]*$`)
)

// mobileFirstWords are the words a mobile signature starts with.
var mobileFirstWords = setOf("sent", "get", "obtenir", "obtener", "obter", "scarica", "outlook",
	"envoyé", "von", "gesendet", "diese", "enviado", "inviato", "verzonden",
	"sendt", "skickat", "wysłane", "отправлено")

func isMobileSignature(line string) bool {
	if utf8.RuneCountInString(line) > 120 {
		return false
	}
	l := strings.TrimLeft(line, " \t(<*_")
	word, _, _ := strings.Cut(l, " ")
	if !mobileFirstWords[strings.ToLower(word)] {
		return false
	}
	return mobileSignature.MatchString(l) || sentWith.MatchString(l)
}
