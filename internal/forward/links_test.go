package forward

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/model"
)

func TestLinkify(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"plain text", "no address here & <b>", "no address here &amp; &lt;b&gt;"},
		{"https", "see https://example.com/a", `see <a href="https://example.com/a" rel="noopener" target="_blank" style="color:#2f6feb;">https://example.com/a</a>`},
		{"query escaped", "https://ex.com/?a=1&b=2",
			`<a href="https://ex.com/?a=1&amp;b=2" rel="noopener" target="_blank" style="color:#2f6feb;">https://ex.com/?a=1&amp;b=2</a>`},
		{"sentence end", "Go to http://ex.com/x.", `Go to <a href="http://ex.com/x" rel="noopener" target="_blank" style="color:#2f6feb;">http://ex.com/x</a>.`},
		{"in brackets", "(https://ex.com/wiki/A_(b))", `(<a href="https://ex.com/wiki/A_(b)" rel="noopener" target="_blank" style="color:#2f6feb;">https://ex.com/wiki/A_(b)</a>)`},
		{"quote ends it", `https://ex.com/"onmouseover="x`, `<a href="https://ex.com/" rel="noopener" target="_blank" style="color:#2f6feb;">https://ex.com/</a>&#34;onmouseover=&#34;x`},
		{"angle ends it", `https://ex.com/<script>`, `<a href="https://ex.com/" rel="noopener" target="_blank" style="color:#2f6feb;">https://ex.com/</a>&lt;script&gt;`},
		{"javascript stays text", "javascript:alert(1)", "javascript:alert(1)"},
		{"data stays text", "data:text/html,<script>", "data:text/html,&lt;script&gt;"},
		{"no host", "https:// nothing", "https:// nothing"},
		{"two", "a http://a.example b https://b.example",
			`a <a href="http://a.example" rel="noopener" target="_blank" style="color:#2f6feb;">http://a.example</a> b <a href="https://b.example" rel="noopener" target="_blank" style="color:#2f6feb;">https://b.example</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(linkify(tt.line)); got != tt.want {
				t.Errorf("linkify(%q)\n got %s\nwant %s", tt.line, got, tt.want)
			}
		})
	}
}

// An agent's addresses are links in the HTML part and stay as written in
// the text part; a visitor's are not made links.
func TestComposeLinksInAgentReplies(t *testing.T) {
	snap := snapshot(
		Message{ID: "v1", AuthorKind: model.AuthorVisitor, Kind: model.KindReply, Body: "is it https://visitor.example/page ?", CreatedAt: at(34, 0)},
		Message{ID: "r1", AuthorKind: model.AuthorAgent, AuthorName: "Alex", Kind: model.KindReply,
			Body: "Track it at https://track.example/p?id=1&x=<b>.\nOr javascript:alert(1)", CreatedAt: at(36, 0)},
	)
	p := parseEmail(t, mustCompose(t, composeInput(t, snap, ModeUnread)))
	for _, want := range []string{
		`<a href="https://track.example/p?id=1&amp;x=" rel="noopener" target="_blank" style="color:#2f6feb;">https://track.example/p?id=1&amp;x=</a>&lt;b&gt;.`,
		"<br>Or javascript:alert(1)",
		"is it https://visitor.example/page ?",
	} {
		if !strings.Contains(p.html, want) {
			t.Errorf("html part lacks %q\n%s", want, p.html)
		}
	}
	if strings.Contains(p.html, `href="https://visitor.example`) || strings.Contains(p.html, `href="javascript`) {
		t.Errorf("html part links what it should not:\n%s", p.html)
	}
	if !strings.Contains(p.text, "Track it at https://track.example/p?id=1&x=<b>.\nOr javascript:alert(1)") {
		t.Errorf("text part altered the reply:\n%s", p.text)
	}
}
