package widget

import (
	"bytes"
	"compress/gzip"
	"html/template"
	"strings"
	"testing"
)

func TestWidgetGzippedSize(t *testing.T) {
	const limit = 25 * 1024
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(JS); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if len(JS) == 0 {
		t.Fatal("widget.js is empty")
	}
	if buf.Len() >= limit {
		t.Errorf("widget.js is %d bytes gzipped, want under %d", buf.Len(), limit)
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(JS), buf.Len())
}

func TestDemoHTML(t *testing.T) {
	const snippet = `<script src="{{.PublicURL}}/widget.js" data-site-key="{{.SiteKey}}" async></script>`
	if !strings.Contains(DemoHTML, snippet) {
		t.Errorf("demo.html does not contain the widget snippet %q", snippet)
	}
	if !strings.Contains(DemoHTML, "<title>Parley demo</title>") {
		t.Error("demo.html has no <title>Parley demo</title>")
	}

	tmpl, err := template.New("demo").Parse(DemoHTML)
	if err != nil {
		t.Fatalf("demo.html does not parse as an html/template: %v", err)
	}
	var out strings.Builder
	data := struct{ PublicURL, SiteKey string }{"https://chat.example.com", "site_abc123"}
	if err := tmpl.Execute(&out, data); err != nil {
		t.Fatalf("execute demo.html: %v", err)
	}
	want := `<script src="https://chat.example.com/widget.js" data-site-key="site_abc123" async></script>`
	if !strings.Contains(out.String(), want) {
		t.Errorf("rendered demo page does not contain %q", want)
	}
}
