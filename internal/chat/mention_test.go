package chat

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/model"
)

func TestMentioned(t *testing.T) {
	agents := []model.AssignableAgent{
		{ID: "ada", Name: "Ada Lovelace"},
		{ID: "ben", Name: "Ben"},
		{ID: "benok", Name: "Ben Okafor"},
		{ID: "li", Name: "李明"},
		{ID: "ana", Name: "Ana María"},
		{ID: "ann", Name: "Ann"},
		{ID: "saml", Name: "Sam Lee"},
		{ID: "chloe", Name: "Chloé Martin"},
		{ID: "kim", Name: "김민수"},
		{ID: "kang", Name: "강명선"},
		{ID: "zoe", Name: "Zoe\u0308 Adler"}, // stored decomposed
		{ID: "samp", Name: "Sam Park"},
	}
	for _, tt := range []struct {
		body, author string
		want         []string
	}{
		{"@Ada can you look?", "", []string{"ada"}},
		{"@ada lovelace, please", "", []string{"ada"}},
		{"@Ada Lovelace please", "", []string{"ada"}},
		{"@Ben Okafor knows", "", []string{"benok"}},          // the longest name, not Ben
		{"@Ben knows", "", []string{"ben"}},                   // a whole name before a first name
		{"@Sam knows", "", []string{"saml", "samp"}},          // a first name names whoever has it
		{"@Bent is no one", "", nil},                          // a name ends with its word
		{"write to ann@ben.com", "", nil},                     // an address
		{"mail ann.smith@ben, then", "", nil},                 // after an address's dot
		{"(@Ann) and @Ana María", "", []string{"ann", "ana"}}, // in brackets; accents
		{"@ANA MARÍA", "", []string{"ana"}},
		{"@고문수 확인 부탁해요", "", nil}, // Hangul syllables are not folded to their first letter
		{"@강명선 님 확인해 주세요", "", []string{"kang"}},
		{"@Zoë Adler please, @zoe", "", []string{"zoe"}},         // a name stored decomposed
		{"merci José@Ben", "", nil},                              // an accented letter before the @ is an address's too
		{"@ana maria, @chloe", "", []string{"ana", "chloe"}},     // without accents
		{"@Chloe\u0301 Martin", "", []string{"chloe"}},           // a decomposed accent: a mark after the name's letter                      // any case
		{"请@李明看一下", "", []string{"li"}},                          // no space after in Chinese
		{"@Ada @Ada @ada", "", []string{"ada"}},                  // once
		{"@Ada and @Ben Okafor", "ada", []string{"benok"}},       // not the author
		{"no at sign", "", nil},                                  //
		{"trailing @", "", nil},                                  //
		{"@", "", nil},                                           //
		{"@Ada_x is a handle", "", nil},                          // "_" continues a word
		{"thanks @Ada.", "", []string{"ada"}},                    // punctuation ends a name
		{strings.Repeat("@", 1000) + "Ann", "", []string{"ann"}}, // many at signs
		{"@Sam Le", "", []string{"saml", "samp"}},                // a whole name cut short: its first name
		{"email@Ann", "", nil},                                   // letters before the @
		{"@Ann\n@Ada Lovelace", "", []string{"ann", "ada"}},      // lines
		{"@İlker", "", nil},                                      // a rune that grows when lowered
		{"x İ @Ann", "", []string{"ann"}},                        // after such a rune
		{"@Ben Okafor's case", "", []string{"benok"}},            // an apostrophe ends it
		{"@Sam\u00a0Lee", "", []string{"saml", "samp"}},          // a no-break space is not the name's space
	} {
		got := mentioned(tt.body, agents, tt.author)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("mentioned(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
