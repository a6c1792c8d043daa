package address

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	own := []string{"example.org", "reply.parley.test"}
	tests := []struct {
		name, in, want string // want "" means nothing taken
	}{
		// Formats.
		{"alone", "jo.doe@visitor.test", "jo.doe@visitor.test"},
		{"in a sentence", "It's jo.doe@visitor.test", "jo.doe@visitor.test"},
		{"plus tag", "mail me: jo+chat@example.com thanks", "jo+chat@example.com"},
		{"subdomain", "jo@mail.eu.example.com", "jo@mail.eu.example.com"},
		{"country code", "jo@shop.co.uk", "jo@shop.co.uk"},
		{"upper-case domain lowered", "Jo@Example.COM", "Jo@example.com"},
		{"apostrophe in local part", "o'brien@example.ie", "o'brien@example.ie"},
		{"underscore and hyphen", "jo_doe-2@my-shop.example.com", "jo_doe-2@my-shop.example.com"},
		{"mailto link", "mailto:jo@example.com", "jo@example.com"},
		{"mailto with query", "mailto:jo@example.com?subject=hi", "jo@example.com"},
		{"label before colon", "Email:jo@example.com", "jo@example.com"},
		{"label and space", "E-mail: jo@example.com", "jo@example.com"},
		{"markdown link", "[jo@example.com](mailto:jo@example.com)", "jo@example.com"},
		{"private suffix domain", "jo@team.blogspot.com", "jo@team.blogspot.com"},
		// Punctuation around.
		{"full stop", "It is jo@example.com.", "jo@example.com"},
		{"ellipsis", "jo@example.com...", "jo@example.com"},
		{"comma", "jo@example.com, thanks", "jo@example.com"},
		{"semicolon", "jo@example.com; bye", "jo@example.com"},
		{"exclamation", "jo@example.com!", "jo@example.com"},
		{"question", "is jo@example.com ok?", "jo@example.com"},
		{"parentheses", "(jo@example.com)", "jo@example.com"},
		{"angle brackets", "Jo Doe <jo@example.com>", "jo@example.com"},
		{"double quotes", `"jo@example.com"`, "jo@example.com"},
		{"single quotes", "'jo@example.com'", "jo@example.com"},
		{"curly quotes", "“jo@example.com”", "jo@example.com"},
		{"guillemets", "«jo@example.com»", "jo@example.com"},
		{"bold markdown", "**jo@example.com**", "jo@example.com"},
		{"backticks", "`jo@example.com`", "jo@example.com"},
		{"colon after", "jo@example.com: that is me", "jo@example.com"},
		{"japanese text glued before", "メールはjo@example.jp。", "jo@example.jp"},
		{"japanese text glued around", "メールアドレスはtaro2@example.jpです。", "taro2@example.jp"},
		{"chinese text glued after", "我的邮箱是li.wei@example.cn谢谢", "li.wei@example.cn"},
		{"thai text glued after", "อีเมลคือsomchai@example.co.thครับ", "somchai@example.co.th"},
		{"japanese domain kept", "taro@例え.jp", "taro@例え.jp"},
		{"chinese text glued before", "我的邮箱是jo@example.cn，谢谢", "jo@example.cn"},
		{"ideographic full stop after space", "メール jo@example.jp。", "jo@example.jp"},
		{"newline and tab", "line\n\tjo@example.com\n", "jo@example.com"},
		{"emoji after", "jo@example.com🙂", "jo@example.com"},
		// Unicode.
		{"unicode domain", "jo@bücher.de", "jo@bücher.de"},
		{"punycode domain shown in unicode", "jo@xn--bcher-kva.de", "jo@bücher.de"},
		{"japanese domain", "jo@例え.jp", "jo@例え.jp"},
		{"unicode local part", "josé@example.com", "josé@example.com"},
		{"zero-width space inside", "jo\u200b@example.com", ""},
		{"zero-width joiner in domain", "jo@exa\u200dmple.com", ""},
		{"bidi override", "jo@\u202eexample.com", ""},
		{"bidi mark after", "jo@example.com\u200f", ""},
		{"soft hyphen", "jo@exam\u00adple.com", ""},
		{"variation selector", "jo@example.com\ufe0f", ""},
		{"nbsp separates", "Jo\u00a0jo@example.com", "jo@example.com"},
		// The workspace's own domains.
		{"own domain", "write to support@example.org", ""},
		{"own domain, upper case", "SUPPORT@EXAMPLE.ORG", ""},
		{"own subdomain", "help@eu.example.org", ""},
		{"reply domain", "c-abc@reply.parley.test", ""},
		{"own then visitor's", "support@example.org told me to write: jo@example.com", "jo@example.com"},
		{"lookalike of own domain", "jo@notexample.org", "jo@notexample.org"},
		// Several addresses.
		{"first of two", "jo@example.com or ann@example.net", "jo@example.com"},
		{"first valid of two", "jo@example or ann@example.net", "ann@example.net"},
		{"two at signs", "jo@ann@example.com", ""},
		{"list", "a@example.com,b@example.com", "a@example.com"},
		// False positives and obfuscation.
		{"nothing", "hello, can you help?", ""},
		{"spelled out", "jo at example dot com", ""},
		{"bracketed at", "jo [at] example [dot] com", ""},
		{"split around at", "jo @ example.com", ""},
		{"split after at", "jo@ example.com", ""},
		{"split before at", "jo @example.com", ""},
		{"handle", "ping @jo on twitter", ""},
		{"no dot in domain", "jo@localhost", ""},
		{"file name", "logo@2x.png", ""},
		{"unknown tld", "jo@example.notatld", ""},
		{"numeric tld", "jo@192.168.0.1", ""},
		{"ip literal", "jo@[192.0.2.1]", ""},
		{"url with credentials", "https://user:pass@example.com/path", ""},
		{"url with at in path", "https://example.com/@jo", ""},
		{"double dot", "jo..doe@example.com", ""},
		{"leading hyphen label", "jo@-example.com", ""},
		{"percent routing", "jo%other@example.com", ""},
		{"fullwidth at", "jo＠example.com", ""},
		{"too long local part", strings.Repeat("a", 65) + "@example.com", ""},
		{"empty", "", ""},
		{"only at", "@", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Find(tt.in, own); got != tt.want {
				t.Errorf("Find(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFindHundredsOfAddresses(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		b.WriteString("user")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("@example.com ")
	}
	if got := Find(b.String(), nil); got != "user@example.com" {
		t.Errorf("Find = %q, want the first address", got)
	}
}

// nearAddresses is a message of 10,000 characters of words that look like
// addresses but are not.
func nearAddresses() string {
	parts := []string{"jo@example", "@example.com", "jo@@example.com", "jo@exa\u200bmple.com",
		"jo@example.notatld", "a@b@c.com", "jo@" + strings.Repeat("a", 70) + ".com", "x@y"}
	var b strings.Builder
	for i := 0; b.Len() < 10000; i++ {
		b.WriteString(parts[i%len(parts)])
		b.WriteByte(' ')
	}
	return b.String()[:10000]
}

func TestFindNearAddresses(t *testing.T) {
	if got := Find(nearAddresses(), nil); got != "" {
		t.Errorf("Find took %q from a message of near-addresses", got)
	}
	// One long word of at signs and letters, and one without any break.
	for _, s := range []string{strings.Repeat("a@", 5000), strings.Repeat("a", 9990) + "@example.com"} {
		if got := Find(s, nil); got != "" {
			t.Errorf("Find took %q", got)
		}
	}
}

// TestFindLinearWork counts Find's work on hostile messages of growing
// size: it stays within a few reads of each byte, so doubling a message
// at most doubles the work (no rescans, no quadratic backtracking).
func TestFindLinearWork(t *testing.T) {
	inputs := map[string]func(n int) string{
		"near-addresses": func(n int) string { return repeatTo(nearAddresses(), n) },
		"at signs":       func(n int) string { return repeatTo("a@", n) },
		"one long word":  func(n int) string { return repeatTo("a", n-12) + "@example.com" },
		"dots and ats":   func(n int) string { return repeatTo("a.@b.", n) },
		"many addresses": func(n int) string { return repeatTo("jo@example ", n) },
		"bidi and zero-width": func(n int) string {
			return repeatTo("jo\u202e@exa\u200bmple.com ", n)
		},
		"labels":          func(n int) string { return repeatTo("mailto:mailto:a@", n) },
		"unspaced script": func(n int) string { return repeatTo("メール@", n) },
	}
	for name, gen := range inputs {
		t.Run(name, func(t *testing.T) {
			var prev int
			for _, n := range []int{10_000, 20_000, 40_000, 80_000} {
				s := gen(n)
				addr, work := find(s, []string{"example.org"})
				if addr != "" && name != "many addresses" {
					t.Errorf("found %q", addr)
				}
				if work > 2*len(s)+1 { // +1: the end of the text ends the last word
					t.Errorf("%d bytes: %d units of work, more than twice the text", len(s), work)
				}
				if prev > 0 && work > 2*prev+2*maxAddress {
					t.Errorf("%d bytes: %d units, was %d for half as much", len(s), work, prev)
				}
				prev = work
			}
		})
	}
}

// repeatTo repeats s up to n bytes, cut on a character boundary.
func repeatTo(s string, n int) string {
	r := strings.Repeat(s, n/len(s)+1)
	return strings.ToValidUTF8(r[:n], "")
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{"jo@example.com", "<jo@bücher.de>", "mailto:a@b.co", "a@b@c.com", "jo\u200b@example.com", nearAddresses()[:200]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Find(s, []string{"example.org"})
		if got == "" {
			return
		}
		if _, err := Validate(got); err != nil {
			t.Fatalf("Find(%q) = %q, which Validate refuses: %v", s, got, err)
		}
		if strings.HasSuffix(strings.ToLower(got), "@example.org") {
			t.Fatalf("Find(%q) took an own address %q", s, got)
		}
		if strings.Count(got, "@") != 1 {
			t.Fatalf("Find(%q) = %q", s, got)
		}
	})
}

func BenchmarkFind(b *testing.B) {
	cases := map[string]string{
		"near-addresses 10k": nearAddresses(),
		"at signs 10k":       strings.Repeat("a@", 5000),
		"prose 10k":          strings.Repeat("hello there, how are you? ", 400),
		"addresses 10k":      strings.Repeat("jo@example ", 910),
	}
	for name, s := range cases {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				Find(s, []string{"example.org"})
			}
		})
	}
}
