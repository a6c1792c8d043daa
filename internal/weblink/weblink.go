// Package weblink finds the http(s) addresses written in a text, where
// they end as a reader means them: "see https://example.com/a." links to
// /a, and "https://en.wikipedia.org/wiki/Norway_(disambiguation)." keeps
// its closing bracket.
package weblink

import (
	"regexp"
	"strings"
)

// candidate is what may be an address: http(s)://, then anything up to a
// space, an angle bracket or a double quote. Find trims its end.
var candidate = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)

// Find returns the [start, end) byte ranges of the addresses in text.
func Find(text string) [][2]int {
	var out [][2]int
	for _, loc := range candidate.FindAllStringIndex(text, -1) {
		end := loc[0] + len(Trim(text[loc[0]:loc[1]]))
		if end-loc[0] > len("https://") {
			out = append(out, [2]int{loc[0], end})
		}
	}
	return out
}

// Trim drops what ends a sentence rather than an address: trailing
// punctuation, and a closing bracket that has no opening one inside.
func Trim(s string) string {
	for s != "" {
		last := s[len(s)-1]
		switch {
		case strings.IndexByte(".,;:!?'*}", last) >= 0:
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
