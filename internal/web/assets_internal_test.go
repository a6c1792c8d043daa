package web

import (
	"bytes"
	"regexp"
	"testing"
)

func TestPickEncoding(t *testing.T) {
	tests := []struct {
		accept        string
		haveBr, haveG bool
		want          string
	}{
		{"", true, true, ""},
		{"gzip", true, true, "gzip"},
		{"br", true, true, "br"},
		{"gzip, deflate, br, zstd", true, true, "br"},
		{"gzip, deflate, br", false, true, "gzip"},
		{"br;q=0, gzip", true, true, "gzip"},
		{"BR ; Q=0.5", true, true, "br"},
		{"gzip;q=0", true, true, ""},
		{"*", true, true, "br"},
		{"*;q=0, gzip", true, true, "gzip"},
		{"*, br;q=0", true, true, "gzip"},
		{"x-gzip", true, true, "gzip"},
		{"identity", true, true, ""},
		{"br;q=abc, gzip", true, true, "gzip"},
		{"gzip", true, false, ""},
	}
	for _, tt := range tests {
		if got := pickEncoding(tt.accept, tt.haveBr, tt.haveG); got != tt.want {
			t.Errorf("pickEncoding(%q, br=%v, gzip=%v) = %q, want %q", tt.accept, tt.haveBr, tt.haveG, got, tt.want)
		}
	}
}

func TestAssetsCompressed(t *testing.T) {
	// Not when the asset is made (every command would pay for it), on
	// first use.
	a := newAsset("widget.js", widgetAsset.contentType, widgetAsset.source)
	if a.raw != nil || a.gz != nil || a.br != nil {
		t.Fatal("asset minified or compressed before it was asked for")
	}
	if gz, br := a.encodings(); gz == nil || br == nil {
		t.Fatalf("first use: gzip %d bytes, brotli %d bytes", len(gz), len(br))
	}

	CompressAssets()
	for name, a := range staticFiles {
		if a.gz == nil || a.br == nil {
			t.Errorf("%s: gzip %d bytes, brotli %d bytes: want both smaller than %d", name, len(a.gz), len(a.br), len(a.source))
		}
	}
	if widgetAsset.br == nil || len(widgetAsset.br) >= len(widgetAsset.gz) {
		t.Errorf("widget.js: brotli %d bytes, gzip %d bytes", len(widgetAsset.br), len(widgetAsset.gz))
	}
}

// TestAssetsMinified checks that the scripts and the style sheet are served
// minified, in the syntax their sources are written in (a visitor's older
// browser runs the widget), and that a file esbuild does not minify, or
// cannot read, is served as written.
func TestAssetsMinified(t *testing.T) {
	newer := regexp.MustCompile(`catch\s*\{|\?\?|\?\.[^0-9]`) // ES2019 and later
	for _, a := range []*asset{widgetAsset, staticFiles["dashboard.js"], staticFiles["dashboard.css"]} {
		raw, _ := a.plain()
		if len(raw) > len(a.source)*85/100 {
			t.Errorf("%s: %d bytes served for %d written, want under 85 %%", a.name, len(raw), len(a.source))
		}
		if bytes.Contains(raw, []byte("\n  ")) || bytes.Contains(raw, []byte("/*")) {
			t.Errorf("%s: indentation or a comment left in what is served", a.name)
		}
		if m := newer.Find(raw); m != nil && newer.Find(a.source) == nil {
			t.Errorf("%s: the minified file uses %q, newer syntax than its source", a.name, m)
		}
		t.Logf("%s: %d bytes written, %d served", a.name, len(a.source), len(raw))
	}
	for _, tt := range []struct{ name, source string }{
		{"favicon.svg", "<svg>  <!-- a comment --> </svg>"},
		{"broken.js", "function ( {"},
	} {
		if raw, _ := newAsset(tt.name, "", []byte(tt.source)).plain(); string(raw) != tt.source {
			t.Errorf("%s: served %q, want it as written", tt.name, raw)
		}
	}
}

// TestWidgetSize keeps the script every visitor downloads small: it fails
// past 22 KiB gzipped as served (minified), so that growing it is a
// decision (20 KiB until the widget learned to keep the page's styles out,
// to let the visitor change their address and to follow the focus; 21 KiB
// until it kept unsent messages across pages, noticed dead connections,
// held its place against a site's rules and learned Parley.reset; 22 KiB
// until it said, in seven languages, that replies arrived below the part
// of the list in view).
func TestWidgetSize(t *testing.T) {
	const limit = 23 * 1024
	gz, br := widgetAsset.encodings()
	if len(gz) == 0 || len(gz) >= limit {
		t.Errorf("widget.js is %d bytes gzipped, want under %d", len(gz), limit)
	}
	raw, _ := widgetAsset.plain()
	t.Logf("widget.js: %d bytes written, %d served, %d gzip, %d brotli", len(widgetAsset.source), len(raw), len(gz), len(br))
}
