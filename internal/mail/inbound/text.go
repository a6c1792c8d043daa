package inbound

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding/charmap"
)

// htmlText turns an HTML body into readable text for Message.Text: the text
// a reader sees, one block per line, paragraphs apart, list items with
// "- ", blockquotes with "> ". (reply.HTML does the same for the new text
// only, and keeps its renderer to itself.)
func htmlText(s string) string {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		// Only nesting deeper than the parser accepts gets here.
		return stripTags(s)
	}
	r := htmlRenderer{atLineStart: true}
	r.walk(doc)
	return r.b.String()
}

type htmlRenderer struct {
	b           strings.Builder
	atLineStart bool // nothing written on the current line yet
	space       bool // white space seen since the last character
	blank       bool // a blank line is due before the next text
	pre         int  // depth of <pre>
	quote       int  // depth of <blockquote>
}

// hidden elements hold no text a reader sees.
var hidden = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Title: true,
	atom.Template: true, atom.Object: true, atom.Iframe: true, atom.Svg: true,
}

// blockElements start and end a line.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Center: true, atom.Dd: true,
	atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figure: true,
	atom.Footer: true, atom.Form: true, atom.Header: true, atom.Main: true, atom.Nav: true,
	atom.Ol: true, atom.Section: true, atom.Table: true, atom.Tr: true, atom.Ul: true,
}

// paragraphs are blocks with a blank line above and below.
var paragraphs = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
}

func (r *htmlRenderer) walk(n *html.Node) {
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
	switch {
	case n.DataAtom == atom.Br:
		r.b.WriteByte('\n')
		r.atLineStart, r.space = true, false
	case n.DataAtom == atom.Hr:
		r.paragraph()
		r.write("----")
		r.paragraph()
	case n.DataAtom == atom.Pre:
		r.paragraph()
		r.pre++
		r.children(n)
		r.pre--
		r.paragraph()
	case n.DataAtom == atom.Blockquote:
		r.paragraph()
		r.quote++
		r.children(n)
		r.quote--
		r.paragraph()
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
		r.paragraph()
		r.children(n)
		r.paragraph()
	case blockElements[n.DataAtom]:
		r.newline()
		r.children(n)
		r.newline()
	default:
		r.children(n)
	}
}

func (r *htmlRenderer) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.walk(c)
	}
}

func (r *htmlRenderer) newline() {
	if !r.atLineStart {
		r.b.WriteByte('\n')
	}
	r.atLineStart, r.space = true, false
}

// paragraph ends the line and asks for a blank line before more text.
func (r *htmlRenderer) paragraph() {
	r.newline()
	r.blank = r.b.Len() > 0
}

// write writes s on the current line, starting the line if needed.
func (r *htmlRenderer) write(s string) {
	if r.atLineStart {
		if r.blank {
			r.b.WriteByte('\n')
			r.blank = false
		}
		r.b.WriteString(strings.Repeat("> ", r.quote))
		r.atLineStart = false
	} else if r.space {
		r.b.WriteByte(' ')
	}
	r.space = false
	r.b.WriteString(s)
}

func (r *htmlRenderer) text(s string) {
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
	s = strings.ReplaceAll(s, "\u00a0", " ")
	if s != "" && strings.IndexByte(" \t\n\r\f", s[0]) >= 0 {
		r.space = true
	}
	words := strings.Fields(s)
	for i, w := range words {
		if i > 0 {
			r.space = true
		}
		r.write(w)
	}
	if len(words) > 0 && strings.IndexByte(" \t\n\r\f", s[len(s)-1]) >= 0 {
		r.space = true
	}
}

// stripTags keeps the text outside tags, for HTML the parser refuses.
func stripTags(s string) string {
	var b strings.Builder
	inTag := false
	for _, c := range s {
		switch {
		case c == '<':
			inTag = true
		case c == '>' && inTag:
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(c)
		}
	}
	return html.UnescapeString(b.String())
}

// lenientBase64 decodes a base64 body, skipping line breaks and any other
// byte outside the alphabet. Padding ends a chunk: some encoders
// concatenate separately padded chunks.
func lenientBase64(b []byte) []byte {
	out := make([]byte, 0, len(b)*3/4)
	chunk := make([]byte, 0, 1024)
	flush := func() {
		if len(chunk)%4 == 1 {
			chunk = chunk[:len(chunk)-1] // a dangling character carries no whole byte
		}
		n, size := len(out), base64.RawStdEncoding.DecodedLen(len(chunk))
		out = slices.Grow(out, size)[:n+size]
		m, _ := base64.RawStdEncoding.Decode(out[n:], chunk) // every byte is in the alphabet
		out = out[:n+m]
		chunk = chunk[:0]
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/':
			chunk = append(chunk, c)
			if len(chunk) == cap(chunk) {
				flush() // a multiple of 4: decodes alone
			}
		case c == '=':
			flush()
		}
	}
	flush()
	return out
}

// unflow undoes format=flowed (RFC 3676 section 4): a line ending in a space
// continues on the next line of the same quote depth, and the space that
// stuffs a line starting with a space, "From " or ">" is removed.
func unflow(s string, delSp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	b.Grow(len(s))
	joining := false
	prevDepth := 0
	for _, line := range lines {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		content := strings.TrimPrefix(line[depth:], " ")
		if joining && depth != prevDepth {
			b.WriteByte('\n') // a flowed line must not join another depth
			joining = false
		}
		if !joining && depth > 0 {
			b.WriteString(strings.Repeat(">", depth) + " ")
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delSp {
			content = content[:len(content)-1]
		}
		b.WriteString(content)
		if !flowed {
			b.WriteByte('\n')
		}
		joining, prevDepth = flowed, depth
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// joinParts joins the bodies of the text parts of one message (Apple Mail
// splits the text around each attachment) with a blank line between them.
func joinParts(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			p = strings.TrimLeft(p, "\r\n")
			b.WriteString("\n\n")
		}
		if i < len(parts)-1 {
			p = strings.TrimRight(p, "\r\n")
		}
		b.WriteString(p)
	}
	return b.String()
}

// hasText reports whether s holds anything but white space.
func hasText(s string) bool {
	return strings.TrimSpace(s) != ""
}

// clean makes text safe to store and show: valid UTF-8, no NUL bytes (which
// PostgreSQL text refuses), LF line ends, no white space at either end, and
// the C1 control characters of text labelled ISO-8859-1 but written in
// Windows-1252 (as Outlook does) turned into the characters meant.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.ContainsAny(s, "\x00\r") {
		s = strings.ReplaceAll(s, "\x00", "")
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	if strings.ContainsFunc(s, isC1) {
		s = strings.Map(func(r rune) rune {
			if isC1(r) {
				if d := charmap.Windows1252.DecodeByte(byte(r)); d != utf8.RuneError {
					return d
				}
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }
