// Package search turns what an agent types into the words a full-text
// index is asked for, and cuts the snippet of a match with its words marked.
// The rules are the index's: a word is a run of letters and digits, case
// and accents do not count ("cafe" is "Café"), every word must be present
// and the last one may be the start of a word.
package search

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Limits of a search text: longer is refused rather than cut, because
// dropping words would find what was not asked for.
const (
	MaxQueryLength = 500
	MaxWords       = 32
)

// isWordRune reports whether r belongs to a word: letters, digits and the
// marks that accent them, as the indexes' tokenizers see it. Everything
// else (spaces, punctuation, the index's own syntax such as quotes, '*',
// '-', ':' and parentheses) separates words and is never passed on.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Co, r)
}

// Words splits a search text into its words, in order, as typed. A text
// with no letter or digit has no words.
func Words(q string) []string {
	var words []string
	for _, t := range tokens(q) {
		words = append(words, q[t.start:t.end])
	}
	return words
}

// Fold returns a word as the indexes compare it: lower-case, without
// accents.
func Fold(w string) string {
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range norm.NFD.String(w) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// token is a word of a text, by byte offsets.
type token struct{ start, end int }

func tokens(s string) []token {
	var out []token
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, token{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, token{start, len(s)})
	}
	return out
}

// Span is a marked part of a snippet, in Unicode code points from its start
// (Start included, End excluded).
type Span struct{ Start, End int }

// Part is a piece of a snippet, marked when it is a searched word.
type Part struct {
	Text string
	Mark bool
}

// Snippet cuts the part of text around its first word that matches words
// (whitespace runs shown as one space, at most width code points plus "…"
// where cut), and returns it with the spans of every matching word in it.
// A text with no match gives its start, unmarked.
func Snippet(text string, words []string, width int) (string, []Span) {
	text = strings.Join(strings.Fields(text), " ")
	folded := make([]string, len(words))
	for i, w := range words {
		folded[i] = Fold(w)
	}
	runes := []rune(text)
	// Words by code point offsets.
	var toks []token
	start := -1
	for i, r := range runes {
		switch {
		case isWordRune(r) && start < 0:
			start = i
		case !isWordRune(r) && start >= 0:
			toks = append(toks, token{start, i})
			start = -1
		}
	}
	if start >= 0 {
		toks = append(toks, token{start, len(runes)})
	}
	matches := func(t token) bool {
		f := Fold(string(runes[t.start:t.end]))
		for i, w := range folded {
			if f == w || (i == len(folded)-1 && strings.HasPrefix(f, w)) {
				return true
			}
		}
		return false
	}
	from := 0
	first := token{-1, -1} // the first match
	for _, t := range toks {
		if matches(t) {
			// Some context before the match, more when the text ends soon.
			lead := max(width/4, width-(len(runes)-t.start))
			from = max(0, t.start-lead)
			first = t
			break
		}
	}
	to := min(len(runes), from+width)
	wordAt := func(i int) bool { return i >= 0 && i < len(runes) && isWordRune(runes[i]) }
	// Start and end at word boundaries, not inside a word; but a match
	// longer than the room is shown from its start, cut inside.
	for from > 0 && wordAt(from) && wordAt(from-1) {
		from++
	}
	if first.start >= 0 && from > first.start {
		from = first.start
		to = min(len(runes), from+width)
	}
	end := to
	for to < len(runes) && to > from && wordAt(to) && wordAt(to-1) {
		to--
	}
	if first.start >= 0 && to <= first.start && end > first.start {
		to = end
	}
	for from < to && runes[from] == ' ' {
		from++
	}
	for to > from && runes[to-1] == ' ' {
		to--
	}
	var b strings.Builder
	var spans []Span
	offset := -from
	if from > 0 {
		b.WriteString("…")
		offset++
	}
	b.WriteString(string(runes[from:to]))
	for _, t := range toks {
		if t.start >= from && t.start < to && matches(t) {
			spans = append(spans, Span{t.start + offset, min(t.end, to) + offset})
		}
	}
	if to < len(runes) {
		b.WriteString("…")
	}
	return b.String(), spans
}

// Parts splits a snippet at its spans, for a page that marks them.
func Parts(snippet string, spans []Span) []Part {
	runes := []rune(snippet)
	var out []Part
	at := 0
	for _, s := range spans {
		if s.Start < at || s.End > len(runes) || s.Start >= s.End {
			continue
		}
		if s.Start > at {
			out = append(out, Part{Text: string(runes[at:s.Start])})
		}
		out = append(out, Part{Text: string(runes[s.Start:s.End]), Mark: true})
		at = s.End
	}
	if at < len(runes) {
		out = append(out, Part{Text: string(runes[at:])})
	}
	return out
}
