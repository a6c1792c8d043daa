// Package address validates the email addresses that enter Parley (a
// visitor's contact form, an agent's edit, the sender of an inbound
// reply) as a mail system would, and refuses those that could mislead a
// reader or route mail elsewhere.
package address

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of RFC 5321 section 4.5.3.1: a local part of 64 octets, a domain
// of 255 and a path of 256 including the angle brackets, so an address of
// 254.
const (
	maxLocal   = 64
	maxDomain  = 253 // without the trailing dot, as DNS names are written
	maxAddress = 254
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid email address")

func invalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalid, why) }

// Validate checks an address typed by a person or read from a message,
// and returns it normalised: trimmed, with the domain lower-cased (and an
// internationalised domain in its Unicode form). It refuses, beyond what
// net/mail refuses:
//   - a display name, angle brackets, comments or several addresses;
//   - a local part over 64 octets, an address over 254 octets, a domain
//     over 253;
//   - quoted local parts and the source-routing characters "%" and "!";
//   - IP-literal domains ("[192.0.2.1]"), numeric top-level labels, and
//     domains with a single label;
//   - any control, format (bidirectional overrides, zero-width
//     characters), separator or unassigned character, anywhere;
//   - a domain that IDNA (UTS #46, lookup profile) refuses.
func Validate(raw string) (string, error) {
	addr := strings.TrimSpace(raw)
	switch {
	case addr == "":
		return "", invalid("empty")
	case !utf8.ValidString(addr):
		return "", invalid("not valid UTF-8")
	case len(addr) > maxAddress:
		return "", invalid(fmt.Sprintf("longer than %d bytes", maxAddress))
	}
	for _, r := range addr {
		// Cc and Cf hold the controls, bidirectional marks and overrides
		// and zero-width characters; Z the spaces and the line and
		// paragraph separators; Co, Cs and Cn the private, surrogate and
		// unassigned code points.
		if unicode.In(r, unicode.C, unicode.Z) || invisible(r) ||
			r > unicode.MaxASCII && !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) {
			return "", invalid(fmt.Sprintf("contains the invisible or control character %U", r))
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", invalid("no @")
	}
	local, domain := addr[:at], addr[at+1:]
	switch {
	case local == "":
		return "", invalid("nothing before the @")
	case len(local) > maxLocal:
		return "", invalid(fmt.Sprintf("the part before the @ is longer than %d bytes", maxLocal))
	case strings.ContainsAny(local, `"@%!\`):
		return "", invalid(`quoted or routing characters ("@%!\) before the @`)
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return "", invalid("misplaced dot before the @")
	case domain == "":
		return "", invalid("nothing after the @")
	case strings.HasPrefix(domain, "["):
		return "", invalid("an IP address instead of a domain")
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return "", invalid("not a single plain address")
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", invalid("the domain is not a valid domain name")
	}
	labels := strings.Split(ascii, ".")
	switch {
	case len(ascii) > maxDomain:
		return "", invalid(fmt.Sprintf("the domain is longer than %d bytes", maxDomain))
	case len(labels) < 2:
		return "", invalid("the domain has no dot")
	case len(local)+1+len(ascii) > maxAddress:
		return "", invalid(fmt.Sprintf("longer than %d bytes", maxAddress))
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", invalid("the domain is not a valid domain name")
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", invalid("the domain is not a valid domain name")
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", invalid("an IP address instead of a domain")
	}
	uni, err := idna.Lookup.ToUnicode(ascii)
	if err != nil {
		return "", invalid("the domain is not a valid domain name")
	}
	return local + "@" + uni, nil
}

// invisible reports the characters that show nothing although Unicode
// files them as letters or marks: the combining grapheme joiner, Hangul
// fillers, Khmer inherent vowels, Mongolian variation selectors and
// variation selectors.
func invisible(r rune) bool {
	switch {
	case r == 0x034F, r == 0x115F, r == 0x1160, r == 0x17B4, r == 0x17B5, r == 0x3164, r == 0xFFA0:
		return true
	case r >= 0x180B && r <= 0x180F, r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return false
}
