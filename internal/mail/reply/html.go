package reply

import (
	"regexp"
	"strings"
	"unicode"

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
	doc, err := html.Parse(strings.NewReader(body))
	var text string
	if err != nil {
		// Only HTML nested deeper than the parser accepts gets here: keep its
		// text and let Text do what it can.
		text = flatten(body)
	} else {
		r := renderer{atLineStart: true}
		r.walk(doc)
		text = r.b.String()
	}
	return Text(tidy(text))
}

// renderer turns a parsed document into text: block elements start lines,
// <br> breaks them, runs of white space collapse as a browser shows them.
type renderer struct {
	b           strings.Builder
	atLineStart bool // nothing written on the current line
	space       bool // white space seen since the last character
	pre         int  // depth of <pre> elements
	stopped     bool // a cut container was met: ignore the rest
	limit       int  // if > 0, stop after writing this many bytes
	probe       bool // rendering a header candidate: do not look for nested ones
}

// quoteMark is written for a dropped blockquote, so that Text still sees
// the quote below an attribution line the markup left outside it.
const quoteMark = ">"

func (r *renderer) walk(n *html.Node) {
	if r.stopped || r.limit > 0 && r.b.Len() > r.limit {
		r.stopped = true
		return
	}
	switch n.Type {
	case html.TextNode:
		r.text(n.Data)
		return
	case html.ElementNode:
	case html.DocumentNode:
		r.children(n)
		return
	default: // comments, doctype
		return
	}

	switch {
	case skipped[n.DataAtom]:
		return
	case r.cuts(n):
		r.stopped = true
		return
	case n.DataAtom == atom.Blockquote:
		r.newline()
		r.b.WriteString(quoteMark)
		r.atLineStart = false
		r.newline()
		return
	case isQuoteContainer(n):
		return
	}

	switch n.DataAtom {
	case atom.Br:
		r.b.WriteByte('\n')
		r.atLineStart, r.space = true, false
		return
	case atom.Hr:
		// Outlook's own text version of the rule above a quoted message.
		r.newline()
		r.b.WriteString("________________________________")
		r.atLineStart = false
		r.newline()
		return
	case atom.Pre:
		r.newline()
		r.pre++
		r.children(n)
		r.pre--
		r.newline()
		return
	case atom.Li:
		r.newline()
		r.b.WriteString("- ")
		r.atLineStart = false
		r.children(n)
		r.newline()
		return
	case atom.Td, atom.Th:
		r.space = !r.atLineStart
		r.children(n)
		r.space = !r.atLineStart
		return
	}
	if blocks[n.DataAtom] {
		r.newline()
		r.children(n)
		r.newline()
		return
	}
	r.children(n)
}

func (r *renderer) children(n *html.Node) {
	for c := n.FirstChild; c != nil && !r.stopped; c = c.NextSibling {
		r.walk(c)
	}
}

func (r *renderer) newline() {
	if !r.atLineStart && r.b.Len() > 0 {
		r.b.WriteByte('\n')
	}
	r.atLineStart, r.space = true, false
}

func (r *renderer) text(s string) {
	if r.pre > 0 {
		r.b.WriteString(s)
		r.atLineStart = strings.HasSuffix(s, "\n")
		r.space = false
		return
	}
	for _, c := range s {
		switch c {
		case ' ', '\t', '\n', '\r', '\f':
			r.space = true
			continue
		case '\u00a0':
			c = ' '
		}
		if r.space && !r.atLineStart {
			r.b.WriteByte(' ')
		}
		r.b.WriteRune(c)
		r.atLineStart, r.space = false, false
	}
}

// skipped elements hold no text a reader sees.
var skipped = map[atom.Atom]bool{
	atom.Head: true, atom.Title: true, atom.Script: true, atom.Style: true,
	atom.Template: true, atom.Noscript: true, atom.Iframe: true, atom.Object: true,
	atom.Svg: true, atom.Math: true, atom.Select: true, atom.Button: true,
}

var blocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Caption: true,
	atom.Center: true, atom.Dd: true, atom.Details: true, atom.Dialog: true,
	atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.Form: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Header: true, atom.Main: true, atom.Nav: true,
	atom.Ol: true, atom.P: true, atom.Section: true, atom.Summary: true,
	atom.Table: true, atom.Tr: true, atom.Ul: true,
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

func (r *renderer) cuts(n *html.Node) bool {
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
			if !r.probe && (n.DataAtom == atom.Div || n.DataAtom == atom.P) &&
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
	sub := renderer{atLineStart: true, probe: true, limit: 1000}
	sub.children(n)
	fields := 0
	for _, l := range strings.Split(sub.b.String(), "\n") {
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

// flatten keeps the text of HTML that could not be parsed into a tree.
func flatten(body string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(body))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Script || a == atom.Style {
				skip++
			}
			if a == atom.Br || blocks[a] {
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if (a == atom.Script || a == atom.Style) && skip > 0 {
				skip--
			}
			if blocks[a] {
				b.WriteByte('\n')
			}
		}
	}
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
