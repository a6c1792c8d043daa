package forward

import (
	htmltemplate "html/template"
	"net/url"
	"strings"

	"github.com/parleychat/parley/internal/weblink"
)

// linkify returns one line of an agent's reply as HTML: the text escaped,
// and every http or https address in it a link that opens without giving
// the page a handle on the mail client's window. Nothing but http and
// https becomes a link: "javascript:" or "data:" stay text.
func linkify(line string) htmltemplate.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range weblink.Find(line) {
		start, end := loc[0], loc[1]
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
