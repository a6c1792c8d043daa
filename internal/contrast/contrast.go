// Package contrast picks readable text colours for a brand colour by WCAG
// 2.x relative luminance and contrast ratio: the widget's and the emails'
// text on the workspace's colour, whatever colour it chose.
package contrast

import (
	"math"
	"strconv"
)

// Dark is the dark text colour, used where white would not read.
const Dark = "#1f2328"

// RGB returns the channels of a #RRGGBB colour in [0, 1], or false when c
// is not one.
func RGB(c string) ([3]float64, bool) {
	var v [3]float64
	if len(c) != 7 || c[0] != '#' {
		return v, false
	}
	for i := range 3 {
		n, err := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return v, false
		}
		v[i] = float64(n) / 255
	}
	return v, true
}

// Luminance is the relative luminance of a #RRGGBB colour (0 black, 1
// white); a malformed colour counts as black.
func Luminance(c string) float64 {
	v, _ := RGB(c)
	var l [3]float64
	for i, x := range v {
		if x <= 0.04045 {
			l[i] = x / 12.92
		} else {
			l[i] = math.Pow((x+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// Ratio is the contrast ratio of two colours, from 1 to 21.
func Ratio(a, b string) float64 {
	la, lb := Luminance(a), Luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// TextOn picks the text colour for c: white when it reads at 4.5:1 (WCAG
// AA), else Dark when that does, else black, which always does (a colour
// too light for white text has a luminance above 0.18, so at least 4.6:1
// against black).
func TextOn(c string) string {
	switch {
	case Ratio(c, "#ffffff") >= 4.5:
		return "#ffffff"
	case Ratio(c, Dark) >= 4.5:
		return Dark
	}
	return "#000000"
}

// ReadableOnWhite returns c when text in it reads on white (WCAG AA,
// 4.5:1), else Dark.
func ReadableOnWhite(c string) string {
	if Ratio(c, "#ffffff") >= 4.5 {
		return c
	}
	return Dark
}
