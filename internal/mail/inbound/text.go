package inbound

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

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
