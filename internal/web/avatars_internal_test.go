package web

import "testing"

func TestInitials(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Ada Lovelace", "AL"},
		{"ada", "A"},
		{"  Zoé   van der Berg ", "ZB"},
		{"(Ben) O'Brien", "BO"},
		{"Zoé <i>O'Brien</i>", "ZI"},
		{"« Émile » Zola", "ÉZ"},
		{"— Ada —", "A"},
		{"4chan Team", "4T"},
		{"", ""},
		{"<> ()", ""},
	} {
		if got := initials(tc.name); got != tc.want {
			t.Errorf("initials(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
