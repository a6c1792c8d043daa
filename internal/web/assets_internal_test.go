package web

import "testing"

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
	a := newAsset("widget.js", widgetAsset.contentType, widgetAsset.raw)
	if a.gz != nil || a.br != nil {
		t.Fatal("asset compressed before it was asked for")
	}
	if gz, br := a.encodings(); gz == nil || br == nil {
		t.Fatalf("first use: gzip %d bytes, brotli %d bytes", len(gz), len(br))
	}

	CompressAssets()
	for name, a := range staticFiles {
		if a.gz == nil || a.br == nil {
			t.Errorf("%s: gzip %d bytes, brotli %d bytes: want both smaller than %d", name, len(a.gz), len(a.br), len(a.raw))
		}
	}
	if widgetAsset.br == nil || len(widgetAsset.br) >= len(widgetAsset.gz) {
		t.Errorf("widget.js: brotli %d bytes, gzip %d bytes", len(widgetAsset.br), len(widgetAsset.gz))
	}
	t.Logf("widget.js: %d bytes, %d gzip, %d brotli", len(widgetAsset.raw), len(widgetAsset.gz), len(widgetAsset.br))
}
