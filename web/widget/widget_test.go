package widget

import (
	"html/template"
	"regexp"
	"slices"
	"strings"
	"testing"
)

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

// Every key of the widget's English table is in every other language's,
// and no language has keys English lacks.
func TestEveryWidgetKeyInEveryLanguage(t *testing.T) {
	src := string(JS)
	start := strings.Index(src, "const L = {")
	end := strings.Index(src, "\n  };\n")
	if start < 0 || end < start {
		t.Fatal("no language table (const L = {...}) in widget.js")
	}
	block := regexp.MustCompile(`(?m)^    ([a-z]{2}): \{\n((?:      .*\n)+?)    \},$`)
	key := regexp.MustCompile(`(?m)(?:^\s+|, )([a-zA-Z_]+): ['"]`)
	tables := map[string][]string{}
	for _, m := range block.FindAllStringSubmatch(src[start:end+6], -1) {
		for _, k := range key.FindAllStringSubmatch(m[2], -1) {
			tables[m[1]] = append(tables[m[1]], k[1])
		}
	}
	langs := []string{"en", "fr", "de", "es", "it", "pt", "nl"}
	if len(tables) != len(langs) {
		t.Fatalf("languages in the table: %d, want %d", len(tables), len(langs))
	}
	en := tables["en"]
	if len(en) < 40 {
		t.Fatalf("the English table has %d keys", len(en))
	}
	for _, l := range langs {
		for _, k := range en {
			if !slices.Contains(tables[l], k) {
				t.Errorf("%s: no %q", l, k)
			}
		}
		for _, k := range tables[l] {
			if !slices.Contains(en, k) {
				t.Errorf("%s: %q is not in the English table", l, k)
			}
		}
		if len(tables[l]) != len(en) {
			t.Errorf("%s has %d keys, English %d", l, len(tables[l]), len(en))
		}
	}
	// Every t('key') the widget calls is in the table.
	for _, m := range regexp.MustCompile(`\bt\('([a-zA-Z_]+)'`).FindAllStringSubmatch(src, -1) {
		if !slices.Contains(en, m[1]) {
			t.Errorf("t(%q) has no English text", m[1])
		}
	}
}
