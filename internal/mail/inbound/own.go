package inbound

import "strings"

// CutOwnEmail cuts from an answer's new text a copy of one of the emails
// Parley sent (the text parts in sent) that the visitor's mail client
// pasted without marking it as a quote (no "> ", no "On … wrote:"): the
// text ends before the first two lines in a row that are lines of one of
// those emails, when a line further on is one of its links (the
// conversation's, or the unsubscribe address): a visitor quoting a
// message to answer it line by line is not cut. It reports whether it cut.
func CutOwnEmail(text string, sent []string) (string, bool) {
	lines := strings.Split(text, "\n")
	for _, s := range sent {
		own, links := map[string]bool{}, map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			k := lineKey(l)
			if k == "" {
				continue
			}
			own[k] = true
			if strings.Contains(k, "://") {
				links[k] = true
			}
		}
		if cut, ok := ownStart(lines, own, links); ok {
			return strings.TrimRight(strings.Join(lines[:cut], "\n"), " \t\r\n"), true
		}
	}
	return text, false
}

// ownStart is the index of the first of two lines in a row (blank lines
// between them aside) that are in own, with a line of links after them.
func ownStart(lines []string, own, links map[string]bool) (int, bool) {
	prev := -1 // the last non-blank line, when it is in own
	for i, l := range lines {
		k := lineKey(l)
		if k == "" {
			continue
		}
		if !own[k] {
			prev = -1
			continue
		}
		if prev >= 0 {
			for _, rest := range lines[i:] {
				if links[lineKey(rest)] {
					return prev, true
				}
			}
		}
		prev = i
	}
	return 0, false
}

// lineKey is a line as compared: its words, single-spaced; "" for a blank
// line or a short one (a lone "--" or "Ann" is in every email).
func lineKey(l string) string {
	k := strings.Join(strings.Fields(l), " ")
	if len(k) < 4 {
		return ""
	}
	return k
}
