package forward

import (
	htmltemplate "html/template"
	"net/url"
	"regexp"
	"strings"
)

// webAddress finds the http(s) addresses in a line of text. What may end
// one is decided by trimAddress.
var webAddress = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)

// linkify returns one line of an agent's reply as HTML: the text escaped,
// and every http or https address in it a link that opens without giving
// the page a handle on the mail client's window. Nothing but http and
// https becomes a link: "javascript:" or "data:" stay text.
func linkify(line string) htmltemplate.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range webAddress.FindAllStringIndex(line, -1) {
		start, end := loc[0], loc[0]+len(trimAddress(line[loc[0]:loc[1]]))
		u, err := url.Parse(line[start:end])
		if err != nil || u.Host == "" || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) {
			continue
		}
		b.WriteString(htmltemplate.HTMLEscapeString(line[last:start]))
		href := htmltemplate.HTMLEscapeString(line[start:end])
		b.WriteString(`<a href="` + href + `" rel="noopener" target="_blank" style="color:#2f6feb;">` + href + `</a>`)
		last = end
	}
	b.WriteString(htmltemplate.HTMLEscapeString(line[last:]))
	return htmltemplate.HTML(b.String()) // #nosec: every piece of text above is escaped
}

// trimAddress drops what ends a sentence rather than an address: trailing
// punctuation, and a closing bracket that has no opening one inside.
func trimAddress(s string) string {
	for s != "" {
		last := s[len(s)-1]
		switch {
		case strings.IndexByte(".,;:!?'*", last) >= 0:
			s = s[:len(s)-1]
		case last == ')' && strings.Count(s, "(") < strings.Count(s, ")"),
			last == ']' && strings.Count(s, "[") < strings.Count(s, "]"):
			s = s[:len(s)-1]
		default:
			return s
		}
	}
	return s
}
