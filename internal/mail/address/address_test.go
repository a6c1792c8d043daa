package address

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means refused
	}{
		// Accepted.
		{"plain", "vera@example.com", "vera@example.com"},
		{"trimmed, domain lower-cased", "  Vera.Smith+chat@Example.COM ", "Vera.Smith+chat@example.com"},
		{"apostrophe", "o'brien@example.co.uk", "o'brien@example.co.uk"},
		{"atext symbols", "a#b$c&d*e=f?g^h_i`j{k|l}m~n/o@example.com", "a#b$c&d*e=f?g^h_i`j{k|l}m~n/o@example.com"},
		{"hyphenated domain", "v@mail-server.example.org", "v@mail-server.example.org"},
		{"numeric label not last", "v@123.example.com", "v@123.example.com"},
		{"local part of 64", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
		{"label of 63", "v@" + strings.Repeat("a", 63) + ".com", "v@" + strings.Repeat("a", 63) + ".com"},
		{"IDN domain", "jose@bücher.de", "jose@bücher.de"},
		{"IDN upper case", "jose@BÜCHER.de", "jose@bücher.de"},
		{"punycode domain", "jose@xn--bcher-kva.de", "jose@bücher.de"},
		{"UTF-8 local part", "josé@example.com", "josé@example.com"},
		{"Cyrillic domain", "ivan@пример.рф", "ivan@пример.рф"},

		// Refused: form.
		{"empty", "", ""},
		{"spaces only", "   ", ""},
		{"no at", "vera", ""},
		{"nothing after at", "vera@", ""},
		{"nothing before at", "@example.com", ""},
		{"single-label domain", "vera@example", ""},
		{"leading dot in domain", "vera@.example.com", ""},
		{"trailing dot in domain", "vera@example.com.", ""},
		{"double dot in domain", "vera@example..com", ""},
		{"leading dot in local", ".vera@example.com", ""},
		{"trailing dot in local", "vera.@example.com", ""},
		{"double dot in local", "ve..ra@example.com", ""},
		{"space inside", "vera smith@example.com", ""},
		{"display name", "Vera <vera@example.com>", ""},
		{"angle brackets", "<vera@example.com>", ""},
		{"comment", "vera@example.com (Vera)", ""},
		{"two addresses", "vera@example.com, bob@example.com", ""},
		{"invalid UTF-8", "vera@exa\xffmple.com", ""},
		{"quoted local part", `"vera smith"@example.com`, ""},
		{"two at signs", "vera@bob@example.com", ""},
		{"hyphen-led label", "v@-example.com", ""},
		{"hyphen-ended label", "v@example-.com", ""},
		{"underscore in domain", "v@ex_ample.com", ""},

		// Refused: RFC 5321 lengths.
		{"local part of 65", strings.Repeat("a", 65) + "@example.com", ""},
		{"label of 64", "v@" + strings.Repeat("a", 64) + ".com", ""},
		{"address over 254", strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 3) + strings.Repeat("c", 10) + ".com", ""},
		{"way too long", strings.Repeat("a", 250) + "@example.com", ""},

		// Refused: routing and IP literals.
		{"percent routing", "vera%other.example@example.com", ""},
		{"bang path", "host!vera@example.com", ""},
		{"IPv4 literal", "vera@[192.0.2.1]", ""},
		{"IPv6 literal", "vera@[IPv6:2001:db8::1]", ""},
		{"bare dotted quad", "vera@192.0.2.1", ""},
		{"numeric TLD", "vera@example.123", ""},
		{"backslash", `ve\ra@example.com`, ""},

		// Refused: invisible, bidirectional and control characters.
		{"RLO in local", "vera\u202Egro.live@example.com", ""},
		{"RLO in domain", "vera@exa\u202Emple.com", ""},
		{"LRM", "vera\u200E@example.com", ""},
		{"RLI isolate", "vera\u2067@example.com", ""},
		{"zero-width space", "ve\u200Bra@example.com", ""},
		{"zero-width joiner in domain", "vera@exa\u200Dmple.com", ""},
		{"zero-width non-joiner", "ve\u200Cra@example.com", ""},
		{"BOM", "\uFEFFvera@example.com", ""},
		{"soft hyphen", "ve\u00ADra@example.com", ""},
		{"word joiner", "vera\u2060@example.com", ""},
		{"line separator in domain", "vera@example\u2028.com", ""},
		{"paragraph separator", "vera@example.com\u2029x", ""},
		{"no-break space", "vera\u00A0@example.com", ""},
		{"ideographic space", "vera@exam\u3000ple.com", ""},
		{"combining grapheme joiner", "ve\u034Fra@example.com", ""},
		{"Hangul filler", "ve\u3164ra@example.com", ""},
		{"variation selector", "ve\uFE0Fra@example.com", ""},
		{"NUL", "vera\x00@example.com", ""},
		{"newline", "vera@example.com\nBcc: x@example.com", ""},
		{"carriage return", "vera@exam\rple.com", ""},
		{"tab", "vera\t@example.com", ""},
		{"private use", "vera\uE000@example.com", ""},
		{"unassigned", "vera\U000E0080@example.com", ""},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("Validate(%q) = %q, want refused", tt.in, got)
				} else if !errors.Is(err, ErrInvalid) {
					t.Errorf("Validate(%q): %v does not wrap ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Validate(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
