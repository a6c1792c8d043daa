package reply

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/parleychat/parley/internal/mail/htmltext"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTML returns only the new text of an HTML reply body (UTF-8; the caller
// decodes the part's charset).
//
// The quote containers of Gmail, Outlook, Apple Mail, Thunderbird and Yahoo
// and every blockquote are dropped, and Outlook's reply header (with what
// follows it) is cut; the rest is turned into text, block by block, and
// passed to Text, which catches what the markup did not mark.
func HTML(body string) string {
	return ExtractHTML(body).Text
}

// ExtractHTML is HTML with the extractor's Result: Unsure is never set when
// the markup marked a quote.
func ExtractHTML(body string) Result {
	marked := false // a quote container was dropped or the rendering cut
	filter := func(n *html.Node) htmltext.Action {
		a := newText(n)
		if a == htmltext.Drop || a == htmltext.Stop {
			marked = true
		}
		return a
	}
	res := ExtractText(tidy(htmltext.String(body, htmltext.Options{Layout: htmltext.Lines, Filter: filter, Mark: quoteMark})))
	res.Unsure = res.Unsure && !marked
	return res
}

// quoteMark is written for a dropped blockquote, so that Text still sees
// the quote below an attribution line the markup left outside it.
const quoteMark = ">"

// newText leaves out of the text what the markup marks as quoted: quote
// containers and blockquotes go (a blockquote leaves quoteMark), and the
// rendering stops where a client's quoted email or signature starts.
func newText(n *html.Node) htmltext.Action { return quoted(n, false) }

// headerProbe is newText for the start of a reply header candidate, which
// looks for no nested candidates.
func headerProbe(n *html.Node) htmltext.Action { return quoted(n, true) }

func quoted(n *html.Node, probe bool) htmltext.Action {
	switch {
	case cuts(n, probe):
		return htmltext.Stop
	case n.DataAtom == atom.Blockquote:
		return htmltext.Mark
	case isQuoteContainer(n):
		return htmltext.Drop
	}
	return htmltext.Keep
}

// quoteClasses mark quote containers: the quote goes, what follows stays.
var quoteClasses = setOf(
	"gmail_quote", "gmail_quote_container", "gmail_attr", // Gmail
	"moz-cite-prefix", // Thunderbird's attribution line
	"yahoo_quoted",    // Yahoo, also prefixed: "ydp5e6f7yahoo_quoted"
	"protonmail_quote",
)

func isQuoteContainer(n *html.Node) bool {
	for _, c := range classes(n) {
		if quoteClasses[c] || strings.HasSuffix(c, "yahoo_quoted") {
			return true
		}
	}
	return false
}

// cutIDs and cutClasses mark the start of the quoted email in clients that
// do not wrap it: the element and everything after it go.
var (
	cutIDs = setOf(
		"appendonsend", "divRplyFwdMsg", // Outlook on the web, new Outlook
		"mail-editor-reference-message-container", // Outlook for Mac
		"OLK_SRC_BODY_SECTION",                    // Outlook for Mac, older
		"stopSpelling",                            // Hotmail's <hr>
		"Signature",                               // Outlook on the web
	)
	cutClasses = setOf("OutlookMessageHeader", "gmail_signature", "moz-signature")
)

var borderTop = regexp.MustCompile(`border-top(?:-style)?\s*:[^;]*solid`)

// cuts reports whether n starts the quoted email; probe is set while
// rendering a header candidate, which must not look for nested ones.
func cuts(n *html.Node, probe bool) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "id":
			if cutIDs[a.Val] {
				return true
			}
		case "class":
			for _, c := range strings.Fields(a.Val) {
				if cutClasses[c] {
					return true
				}
			}
		case "style":
			// Outlook sets its reply header ("From: … Sent: …") apart with a
			// top border, in whatever language.
			if !probe && (n.DataAtom == atom.Div || n.DataAtom == atom.P) &&
				strings.Contains(a.Val, "border-top") && borderTop.MatchString(a.Val) && looksLikeHeader(n) {
				return true
			}
		}
	}
	return false
}

// classes returns the class names of n.
func classes(n *html.Node) []string {
	for _, a := range n.Attr {
		if a.Key == "class" {
			return strings.Fields(a.Val)
		}
	}
	return nil
}

// looksLikeHeader reports whether n's text starts with at least two lines
// of "Field: value", as a reply header does in any language. It reads only
// the start of n, so that nested candidates cost linear time.
func looksLikeHeader(n *html.Node) bool {
	text := htmltext.Children(n, htmltext.Options{Layout: htmltext.Lines, Filter: headerProbe, Mark: quoteMark, Limit: 1000})
	fields := 0
	for _, l := range strings.Split(text, "\n") {
		if isBlank(l) {
			continue
		}
		if fieldName(strings.TrimSpace(l)) == "" {
			break
		}
		fields++
	}
	return fields >= 2
}

// tidy trims the lines of rendered HTML and keeps at most one blank line in
// a row, as paragraphs and <br>s of one blank line pile up.
func tidy(text string) string {
	lines := strings.Split(text, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if isBlank(l) {
			blank++
			if blank > 1 {
				continue
			}
			l = ""
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
