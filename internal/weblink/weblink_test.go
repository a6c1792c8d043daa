package weblink

import (
	"reflect"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"see https://example.com/a.", []string{"https://example.com/a"}},
		{"(https://example.com/a)", []string{"https://example.com/a"}},
		{"https://en.wikipedia.org/wiki/Norway_(disambiguation).", []string{"https://en.wikipedia.org/wiki/Norway_(disambiguation)"}},
		{"[https://example.com/x_[1]]", []string{"https://example.com/x_[1]"}},
		{"two: http://a.example/, HTTPS://b.example/p?q=1!", []string{"http://a.example/", "HTTPS://b.example/p?q=1"}},
		{"'https://example.com/it's'", []string{"https://example.com/it's"}},
		{"just https:// alone", nil},
		{"no link here", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range Find(tt.text) {
			got = append(got, tt.text[r[0]:r[1]])
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Find(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
