package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/parleychat/parley/internal/model"
)

// Mentions: an internal note names colleagues with "@" ("@Ada", "@Ada
// Lovelace"). Each agent it names gets the conversation in their Mentions
// view. The dashboard's script reads notes the same way to tell an agent
// live (dashboard.js, mentionsMe): the two must agree.
//
// Names compare without regard to case or accents ("@chloe" names Chloé).
// At each "@" the longest name of the workspace's agents that follows is
// the one named ("@Ben Okafor" names Ben Okafor, not Ben); when no whole
// name follows, a first name alone names whoever has it. An "@" after an
// address's letters (ann@ben.com, josé@ben.com) names nobody. A name ends
// where a letter or digit does not follow, except in scripts written
// without spaces (Chinese, Japanese, Thai), where a name needs no space
// after it.

// mentioned returns the ids of the agents a note's body names (of agents,
// those who can be assigned: the dashboard's menus list the same), each
// once, in the order first named; the author (by id) is left out.
func mentioned(body string, agents []model.AssignableAgent, author string) []string {
	raw := []rune(norm.NFC.String(body))
	text := foldRunes(raw)
	names := make([][]rune, len(agents))
	firsts := make([][]rune, len(agents))
	for i, a := range agents {
		names[i] = foldRunes([]rune(norm.NFC.String(a.Name)))
		firsts[i] = firstWord(names[i])
	}
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != author && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for at, r := range text {
		if r != '@' || (at > 0 && addressChar(raw[at-1])) {
			continue
		}
		longest := 0
		for _, n := range names {
			if len(n) > longest && namedAt(text, at+1, n) {
				longest = len(n)
			}
		}
		for i, a := range agents {
			switch {
			case longest > 0:
				if len(names[i]) == longest && namedAt(text, at+1, names[i]) {
					add(a.ID)
				}
			case namedAt(text, at+1, firsts[i]):
				add(a.ID)
			}
		}
	}
	return out
}

// namedAt reports whether name is written at text[i:] and ends there.
func namedAt(text []rune, i int, name []rune) bool {
	if len(name) == 0 || i+len(name) > len(text) {
		return false
	}
	for k, r := range name {
		if text[i+k] != r {
			return false
		}
	}
	end := i + len(name)
	if end == len(text) {
		return true
	}
	next, last := text[end], text[end-1]
	return !wordRune(next) || noSpaces(next) || noSpaces(last)
}

// foldRunes is text as names are compared: each rune lower-case and
// without its accents, one rune for one ("@chloe" names Chloé). Only a
// letter with combining marks loses them: a Hangul syllable, which
// decomposes into its letters, is kept whole.
func foldRunes(text []rune) []rune {
	out := make([]rune, len(text))
	for i, r := range text {
		if r >= utf8.RuneSelf {
			if d := []rune(norm.NFD.String(string(r))); len(d) > 1 && allMarks(d[1:]) {
				r = d[0]
			}
		}
		out[i] = unicode.ToLower(r)
	}
	return out
}

func allMarks(rs []rune) bool {
	for _, r := range rs {
		if !unicode.Is(unicode.Mn, r) {
			return false
		}
	}
	return true
}

// firstWord is a name's first word (the whole name when it has one).
func firstWord(name []rune) []rune {
	for i, r := range name {
		if unicode.IsSpace(r) {
			return name[:i]
		}
	}
	return name
}

func wordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// noSpaces reports whether r belongs to a script written without spaces
// between words.
func noSpaces(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai)
}

// addressChar reports whether r may end the local part of an address:
// a letter or digit (of any script but those written without spaces,
// where a name follows a word directly), or one of "._%+-".
func addressChar(r rune) bool {
	return strings.ContainsRune("._%+-", r) || ((unicode.IsLetter(r) || unicode.IsDigit(r)) && !noSpaces(r))
}
