package address

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Find returns the first valid address written in a chat message, or ""
// when there is none. The domains in own (and their subdomains) are never
// taken: they are the workspace's own addresses, which a visitor quotes
// rather than owns. At most one address is returned; the text is read in a
// single pass, so the work grows linearly with its length.
//
// An address is a word: text between spaces and delimiting punctuation
// (brackets, quotes, commas, semicolons, "!", "?", and any non-ASCII
// punctuation or symbol), with one "@". Before the word's last ":" is a
// label ("mailto:", "email:") and is dropped; a word holding "://" is a
// URL and is skipped. Quotes, asterisks and dots around the word are
// trimmed. The word must pass Validate whole, so an address touching an
// invisible or bidirectional character is refused, and its domain must
// end in a top-level domain of the public suffix list (or the reserved
// "test" and "example"), so "logo@2x.png" is no address. Addresses split
// across words or spelled out ("jo at example dot com") are not found.
func Find(text string, own []string) string {
	addr, _ := find(text, own)
	return addr
}

// find is Find, and also counts its work: every byte read, each time it is
// read (once by the scan, once more when its word is checked), so tests can
// prove the work linear in the text without timing anything.
func find(text string, own []string) (addr string, work int) {
	owned := make([]string, 0, len(own))
	for _, d := range own {
		if a, err := idna.Lookup.ToASCII(strings.TrimSpace(d)); err == nil && a != "" {
			owned = append(owned, strings.ToLower(a))
		}
	}
	start := -1
	for i := 0; i <= len(text); {
		var r rune = ' '
		size := 1
		if i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		if delimiter(r) {
			if start >= 0 {
				// A word is checked in time linear in its length
				// (candidate reads it a bounded number of times).
				work += i - start
				if a := candidate(text[start:i], owned); a != "" {
					return a, work
				}
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		work += size
		i += size
	}
	return "", work
}

// delimiter reports the runes that end a word.
func delimiter(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiDelim[r]
	}
	if r == utf8.RuneError || unicode.IsSpace(r) || unicode.Is(unicode.Z, r) {
		return true
	}
	// Non-ASCII punctuation and symbols (curly quotes, guillemets, the
	// ideographic full stop, emoji) end a word; letters, marks, digits and
	// the invisible characters stay in it, the last ones so that Validate
	// refuses the whole word.
	return unicode.In(r, unicode.P, unicode.S)
}

// asciiDelim holds the ASCII runes that end a word: spaces and the
// punctuation that surrounds an address in prose.
var asciiDelim = func() (t [utf8.RuneSelf]bool) {
	for _, r := range " \t\n\v\f\r()<>[]{}\",;!?\\|" {
		t[r] = true
	}
	return t
}()

// candidate checks one word and returns it as a valid address, or "".
func candidate(w string, owned []string) string {
	at := strings.IndexByte(w, '@')
	if at < 0 || len(w) > 4*maxAddress {
		return ""
	}
	if strings.Contains(w, "://") {
		return ""
	}
	if c := strings.LastIndexByte(w[:at], ':'); c >= 0 {
		w = w[c+1:]
	}
	// Chinese, Japanese and Thai are written without spaces: the address
	// starts after the last such character before the "@", and ends
	// before those that follow its domain (a domain in those scripts ends
	// with a top-level domain in ASCII, which stays).
	at = strings.IndexByte(w, '@')
	if cut := strings.LastIndexFunc(w[:at], unspaced); cut >= 0 {
		_, size := utf8.DecodeRuneInString(w[cut:])
		w = w[cut+size:]
	}
	w = strings.TrimRightFunc(w, unspaced)
	w = strings.TrimLeft(w, "'`*.")
	w = strings.TrimRight(w, "'`*.:")
	at = strings.IndexByte(w, '@')
	if at < 0 || strings.IndexByte(w[at+1:], '@') >= 0 || !strings.Contains(w[at+1:], ".") {
		return ""
	}
	addr, err := Validate(w)
	if err != nil {
		return ""
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || !knownTLD(ascii) {
		return ""
	}
	for _, o := range owned {
		if ascii == o || strings.HasSuffix(ascii, "."+o) {
			return ""
		}
	}
	return addr
}

// unspaced reports the letters of scripts written without spaces between
// words.
func unspaced(r rune) bool {
	return r > unicode.MaxASCII && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai)
}

// knownTLD reports whether an ASCII domain ends in a top-level domain that
// exists (one of ICANN's) or in a name reserved for testing and
// documentation (RFC 2606).
func knownTLD(ascii string) bool {
	tld := ascii[strings.LastIndexByte(ascii, '.')+1:]
	if tld == "test" || tld == "example" {
		return true
	}
	// The top-level label alone: the suffix of a whole domain may be a
	// private one (blogspot.com), which says nothing of the top level.
	_, icann := publicsuffix.PublicSuffix(tld)
	return icann
}
