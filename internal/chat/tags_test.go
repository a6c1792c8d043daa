package chat

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/model"
)

func TestNormalizeTag(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want "": refused with invalid_tag
	}{
		{"Billing", "Billing"},
		{"  Refund   request  ", "Refund request"},
		{"Cafe\u0301", "Café"}, // decomposed: kept composed, one tag with "Café"
		{"हिन्दी", "हिन्दी"},   // vowel signs are marks on letters
		{"v2.0/EU_west-1", "v2.0/EU_west-1"},
		{strings.Repeat("é", 32), strings.Repeat("é", 32)},
		{strings.Repeat("e\u0301", 32), strings.Repeat("é", 32)}, // 64 code points typed, 32 kept
		{strings.Repeat("x", 33), ""},
		{"", ""},
		{" \t ", ""},
		{"a\tb", ""},
		{"a\nb", ""},
		{"a,b", ""},
		{"<script>", ""},
		{"50%", ""},
		{"a\u200bb", ""},      // zero-width space
		{"Bil\u034fling", ""}, // a grapheme joiner: shows nothing, "Billing" twice
		{"VIP\ufe0f", ""},     // a variation selector
		{"a\u202eb", ""},      // right-to-left override
		{"\u0301x", ""},       // a mark on nothing
		{"x \u0301y", ""},     // a mark on a space
		{"1\u0301", ""},       // a mark on a digit
		{"a\x00b", ""},
	} {
		got, err := NormalizeTag(tt.in)
		switch {
		case tt.want == "" && ErrorCode(err) != CodeInvalidTag:
			t.Errorf("NormalizeTag(%q) = %q, %v; want invalid_tag", tt.in, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("NormalizeTag(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeTags(t *testing.T) {
	ten := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for _, tt := range []struct {
		name string
		in   []string
		want string // "": refused
	}{
		{"none", nil, "[]"},
		{"first spelling of each kept, in order", []string{"VIP", "billing", "vip", "Billing ", "BILLING"}, "[VIP billing]"},
		{"ten", ten, fmt.Sprint(ten)},
		{"ten and a repeat", append(append([]string{}, ten...), "A"), fmt.Sprint(ten)},
		{"eleven", append(append([]string{}, ten...), "k"), ""},
		{"one bad", []string{"ok", "no!"}, ""},
	} {
		got, err := normalizeTags(tt.in)
		switch {
		case tt.want == "" && ErrorCode(err) != CodeInvalidTag:
			t.Errorf("%s: %q, %v; want invalid_tag", tt.name, got, err)
		case tt.want != "" && (err != nil || fmt.Sprint(append([]string{}, got...)) != tt.want):
			t.Errorf("%s: %q, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	// Keys compare without regard to case, beyond ASCII too.
	if model.TagKey("STRASSE") != model.TagKey("straße") {
		t.Errorf("TagKey(STRASSE) %q != TagKey(straße) %q", model.TagKey("STRASSE"), model.TagKey("straße"))
	}
}
