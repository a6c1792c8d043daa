// Package htmltext turns the HTML body of an email into the text a reader
// sees: hidden elements dropped, one block per line, white space collapsed
// as a browser shows it, list items with "- ". Every mail path that needs
// the text of an HTML body renders it here: inbound mail for the whole
// message, reply extraction for the new text only (which decides, through
// Options.Filter, what of the markup to leave out).
package htmltext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Layout is how blocks are set apart in the text.
type Layout int

const (
	// Paragraphs is the layout for reading a whole message: paragraphs,
	// headings, <pre>, blockquotes and rules have a blank line above and
	// below, blockquoted lines start with "> ", a rule is "----", and every
	// kind of white space, no-break spaces too, collapses.
	Paragraphs Layout = iota
	// Lines is the layout mail clients give their own text version, which
	// reply extraction reads: every block starts a new line and no blank
	// line is added, a rule is Outlook's line of 32 underscores, only ASCII
	// white space collapses, and a no-break space stays a space (Outlook
	// writes its blank lines as paragraphs holding one).
	Lines
)

// Action is what the renderer does with an element, as Options.Filter
// decides.
type Action int

const (
	Keep Action = iota // render the element
	Drop               // leave the element and its content out
	Mark               // leave them out, with a line holding Options.Mark in their place
	Stop               // end the text before the element
)

// Options say how to render.
type Options struct {
	Layout Layout
	// Filter, when set, is asked about every visible element before it is
	// rendered.
	Filter func(n *html.Node) Action
	// Mark is the line written for an element the filter marks.
	Mark string
	// Limit, when positive, stops the rendering once the text is longer
	// than Limit bytes.
	Limit int
}

// String returns the text of an HTML document or fragment. HTML the parser
// refuses (only nesting deeper than it accepts) is reduced to the text
// between its tags, one line per block, without Filter.
func String(s string, o Options) string {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return flatten(s)
	}
	return Children(doc, o)
}

// Children returns the text of the content of n, an element or a document.
func Children(n *html.Node, o Options) string {
	r := renderer{o: o, atLineStart: true}
	r.children(n)
	return r.b.String()
}

// hidden elements hold no text a reader sees.
var hidden = map[atom.Atom]bool{
	atom.Head: true, atom.Title: true, atom.Script: true, atom.Style: true,
	atom.Template: true, atom.Noscript: true, atom.Iframe: true, atom.Object: true,
	atom.Svg: true, atom.Math: true, atom.Select: true, atom.Button: true,
}

// blocks start and end a line.
var blocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Caption: true,
	atom.Center: true, atom.Dd: true, atom.Details: true, atom.Dialog: true,
	atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.Form: true,
	atom.Header: true, atom.Main: true, atom.Nav: true, atom.Ol: true,
	atom.Section: true, atom.Summary: true, atom.Table: true, atom.Tr: true, atom.Ul: true,
}

// paragraphs are blocks that the Paragraphs layout sets apart with blank
// lines.
var paragraphs = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
}

// IsBlock reports whether the element a starts and ends a line.
func IsBlock(a atom.Atom) bool { return blocks[a] || paragraphs[a] }

type renderer struct {
	o           Options
	b           strings.Builder
	atLineStart bool // nothing written on the current line yet
	space       bool // white space seen since the last character
	blank       bool // a blank line is due before the next text (Paragraphs)
	pre         int  // depth of <pre>
	quote       int  // depth of <blockquote>
	stopped     bool // Filter said Stop, or Limit was reached
}

func (r *renderer) walk(n *html.Node) {
	if r.stopped || r.o.Limit > 0 && r.b.Len() > r.o.Limit {
		r.stopped = true
		return
	}
	switch n.Type {
	case html.TextNode:
		r.text(n.Data)
		return
	case html.DocumentNode:
		r.children(n)
		return
	case html.ElementNode:
	default: // comments, doctype
		return
	}
	if hidden[n.DataAtom] {
		return
	}
	if r.o.Filter != nil {
		switch r.o.Filter(n) {
		case Drop:
			return
		case Stop:
			r.stopped = true
			return
		case Mark:
			r.newline()
			r.write(r.o.Mark)
			r.newline()
			return
		}
	}
	switch {
	case n.DataAtom == atom.Br:
		r.b.WriteByte('\n')
		r.atLineStart, r.space = true, false
	case n.DataAtom == atom.Hr:
		rule := "----"
		if r.o.Layout == Lines {
			rule = "________________________________"
		}
		r.apart()
		r.write(rule)
		r.apart()
	case n.DataAtom == atom.Pre:
		r.apart()
		r.pre++
		r.children(n)
		r.pre--
		r.apart()
	case n.DataAtom == atom.Blockquote:
		r.apart()
		r.quote++
		r.children(n)
		r.quote--
		r.apart()
	case n.DataAtom == atom.Li:
		r.newline()
		r.write("- ")
		r.space = false
		r.children(n)
		r.newline()
	case n.DataAtom == atom.Td || n.DataAtom == atom.Th:
		r.space = !r.atLineStart
		r.children(n)
		r.space = !r.atLineStart
	case paragraphs[n.DataAtom]:
		r.apart()
		r.children(n)
		r.apart()
	case blocks[n.DataAtom]:
		r.newline()
		r.children(n)
		r.newline()
	default:
		r.children(n)
	}
}

func (r *renderer) children(n *html.Node) {
	for c := n.FirstChild; c != nil && !r.stopped; c = c.NextSibling {
		r.walk(c)
	}
}

// newline ends the current line, if anything is on it.
func (r *renderer) newline() {
	if !r.atLineStart && r.b.Len() > 0 {
		r.b.WriteByte('\n')
	}
	r.atLineStart, r.space = true, false
}

// apart ends the line and, in the Paragraphs layout, asks for a blank line
// before more text.
func (r *renderer) apart() {
	r.newline()
	if r.o.Layout == Paragraphs {
		r.blank = r.b.Len() > 0
	}
}

// write writes s on the current line, starting the line if needed.
func (r *renderer) write(s string) {
	if r.atLineStart {
		if r.blank {
			r.b.WriteByte('\n')
			r.blank = false
		}
		for range r.quote {
			r.b.WriteString("> ")
		}
		r.atLineStart = false
	} else if r.space {
		r.b.WriteByte(' ')
	}
	r.space = false
	r.b.WriteString(s)
}

func (r *renderer) text(s string) {
	if r.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				r.b.WriteByte('\n')
				r.atLineStart = true
			}
			if line != "" {
				r.write(line)
			}
		}
		return
	}
	collapses := isSpace
	if r.o.Layout == Lines {
		collapses = isASCIISpace
	}
	for s != "" {
		i := strings.IndexFunc(s, collapses)
		if i != 0 {
			word := s
			if i > 0 {
				word = s[:i]
			}
			if strings.Contains(word, "\u00a0") {
				word = strings.ReplaceAll(word, "\u00a0", " ")
			}
			if !utf8.ValidString(word) {
				word = strings.Map(keep, word) // each invalid byte becomes U+FFFD
			}
			r.write(word)
			if i < 0 {
				return
			}
		}
		r.space = true
		j := strings.IndexFunc(s[i:], func(c rune) bool { return !collapses(c) })
		if j < 0 {
			return
		}
		s = s[i+j:]
	}
}

func keep(c rune) rune { return c }

func isSpace(c rune) bool { return unicode.IsSpace(c) }

func isASCIISpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
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
			if a == atom.Br || IsBlock(a) {
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if (a == atom.Script || a == atom.Style) && skip > 0 {
				skip--
			}
			if IsBlock(a) {
				b.WriteByte('\n')
			}
		}
	}
}
