package contrast

import (
	"fmt"
	"math"
	"testing"
)

func TestRatio(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#767676", "#ffffff", 4.54}, // the lightest grey passing AA on white
		{"#2563eb", "#ffffff", 5.17},
	}
	for _, c := range cases {
		if got := Ratio(c.a, c.b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("Ratio(%s, %s) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

func TestTextOn(t *testing.T) {
	cases := map[string]string{
		"#2563eb": "#ffffff", "#000000": "#ffffff", "#0a7c42": "#ffffff", "#7c3aed": "#ffffff",
		"#ffd400": Dark, "#ffffff": Dark, "#a3e635": Dark, "#f0f0f0": Dark, "#00ffff": Dark,
		"#777777":      "#000000", // a mid grey: neither white nor Dark reach 4.5:1
		"not a colour": "#ffffff", // counts as black
	}
	for c, want := range cases {
		if got := TextOn(c); got != want {
			t.Errorf("TextOn(%s) = %s, want %s", c, got, want)
		}
	}
}

// Whatever colour a workspace picks, the text on it reads at 4.5:1 or
// better (WCAG AA for normal text).
func TestAnyColourStaysReadable(t *testing.T) {
	worst := 21.0
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 15 {
			for b := 0; b < 256; b += 15 {
				c := fmt.Sprintf("#%02x%02x%02x", r, g, b)
				if got := Ratio(c, TextOn(c)); got < worst {
					worst = got
				}
			}
		}
	}
	if worst < 4.5 {
		t.Errorf("the worst text contrast over the colour cube is %.2f, want at least 4.5", worst)
	}
	t.Logf("worst text contrast: %.2f", worst)
}

func TestReadableOnWhite(t *testing.T) {
	if got := ReadableOnWhite("#2563eb"); got != "#2563eb" {
		t.Errorf("a dark blue on white: %s", got)
	}
	if got := ReadableOnWhite("#ffd400"); got != Dark {
		t.Errorf("yellow on white: %s", got)
	}
}
