package search

import (
	"reflect"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	tests := []struct {
		q    string
		want []string
	}{
		{"café crème", []string{"café", "crème"}},
		{`"unbalanced (paren* NEAR(a b) -x col:y`, []string{"unbalanced", "paren", "NEAR", "a", "b", "x", "col", "y"}},
		{"jean.dupont@example.com", []string{"jean", "dupont", "example", "com"}},
		{"l’été 2024", []string{"l", "été", "2024"}},
		{"***", nil},
		{"", nil},
		{"日本語 текст", []string{"日本語", "текст"}},
		{"e\u0301cole", []string{"e\u0301cole"}},
	}
	for _, tt := range tests {
		if got := Words(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{"Café": "cafe", "CRÈME": "creme", "e\u0301cole": "ecole", "Ångström": "angstrom", "Текст": "текст", "abc": "abc"}
	for in, want := range tests {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := "Bonjour, je voudrais savoir si vous livrez en Belgique car mon adresse est à Bruxelles et je ne trouve pas l'option dans le panier. Merci d'avance pour votre réponse rapide, et bonne journée à toute l'équipe du Café."
	tests := []struct {
		name   string
		text   string
		words  []string
		width  int
		want   string
		marked []string
	}{
		{"accent and case folded", "Un café crème, s'il vous plaît", []string{"CAFE", "creme"}, 80, "Un café crème, s'il vous plaît", []string{"café", "crème"}},
		{"last word is a prefix", "Refund requested twice", []string{"refu"}, 80, "Refund requested twice", []string{"Refund"}},
		{"only the last word is a prefix", "refund requested", []string{"req", "refund"}, 80, "refund requested", []string{"refund"}},
		{"whitespace collapsed", "line one\n\n  line   two", []string{"two"}, 80, "line one line two", []string{"two"}},
		{"window around a late match", long, []string{"cafe"}, 60, "…réponse rapide, et bonne journée à toute l'équipe du Café.", []string{"Café"}},
		{"no match gives the start", long, []string{"zzz"}, 30, "Bonjour, je voudrais savoir si…", nil},
		{"angle brackets stay text", "<b>café</b>", []string{"cafe"}, 80, "<b>café</b>", []string{"café"}},
		{"a match longer than the room", "See " + strings.Repeat("Superlongword", 10) + " here", []string{"superlongword"}, 30, "See " + strings.Repeat("Superlongword", 2) + "…", []string{strings.Repeat("Superlongword", 2)}},
		{"a long match after a few words", "Error code XJ" + strings.Repeat("9", 100), []string{"xj9"}, 40, "…code XJ" + strings.Repeat("9", 28) + "…", []string{"XJ" + strings.Repeat("9", 28)}},
		{"a long word that is not the match", strings.Repeat("a", 100) + " refund", []string{"refund"}, 30, "…refund", []string{"refund"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, spans := Snippet(tt.text, tt.words, tt.width)
			if got != tt.want {
				t.Errorf("snippet = %q, want %q", got, tt.want)
			}
			var marked []string
			for _, p := range Parts(got, spans) {
				if p.Mark {
					marked = append(marked, p.Text)
				}
			}
			if !reflect.DeepEqual(marked, tt.marked) {
				t.Errorf("marked = %q, want %q", marked, tt.marked)
			}
		})
	}
}

func TestPartsJoinToSnippet(t *testing.T) {
	s, spans := Snippet("Ça va? Ça va très bien, merci", []string{"ca", "tres"}, 80)
	var joined string
	for _, p := range Parts(s, spans) {
		joined += p.Text
	}
	if joined != s {
		t.Fatalf("parts join to %q, want %q", joined, s)
	}
	if len(spans) != 3 {
		t.Fatalf("spans = %v, want 3 (Ça, Ça, très)", spans)
	}
}
