package htmltext

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestString(t *testing.T) {
	tests := []struct {
		name   string
		layout Layout
		in     string
		want   string
	}{
		{"paragraphs apart", Paragraphs, "<p>One</p><p>Two</p>", "One\n\nTwo\n"},
		{"paragraphs as lines", Lines, "<p>One</p><p>Two</p>", "One\nTwo\n"},
		{"divs and br", Paragraphs, "<div>a<br>b</div><div>c</div>", "a\nb\nc\n"},
		{"hidden elements", Lines, "<head><title>T</title><style>p{}</style></head><body>x <b>bold</b>  y<noscript>js</noscript><button>Go</button></body>", "x bold y"},
		{"quote prefixed", Paragraphs, "<blockquote><p>q1</p><p>q2</p></blockquote><p>after</p>", "> q1\n\n> q2\n\nafter\n"},
		{"table cells", Paragraphs, "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc\n"},
		{"pre kept", Paragraphs, "a<pre>  keep\n   spaces</pre>", "a\n\n  keep\n   spaces\n"},
		{"list items", Lines, "<ol><li>one</li><li>two</li></ol>", "- one\n- two\n"},
		{"no-break space collapses", Paragraphs, "caf&eacute;&nbsp; &nbsp;ok<p>&nbsp;</p>", "café ok\n"},
		{"no-break space kept", Lines, "caf&eacute;&nbsp; &nbsp;ok<p>&nbsp;</p>", "café   ok\n \n"},
		{"rule for reading", Paragraphs, "a<hr>b", "a\n\n----\n\nb"},
		{"rule as Outlook writes it", Lines, "a<hr>b", "a\n________________________________\nb"},
		{"invalid UTF-8", Lines, "a\xff\xfeb", "a\ufffd\ufffdb"},
		{"nested deeper than the parser accepts", Lines, strings.Repeat("<div>", 2000) + "deep" + strings.Repeat("</div>", 2000), strings.Repeat("\n", 2000) + "deep" + strings.Repeat("\n", 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in, Options{Layout: tt.layout}); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	filter := func(n *html.Node) Action {
		for _, a := range n.Attr {
			if a.Key == "class" {
				switch a.Val {
				case "drop":
					return Drop
				case "stop":
					return Stop
				}
			}
		}
		if n.DataAtom == atom.Blockquote {
			return Mark
		}
		return Keep
	}
	tests := []struct{ name, in, want string }{
		{"drop", `<div>new</div><div class="drop">quoted</div><div>more</div>`, "new\nmore\n"},
		{"stop", `<div>new</div><div class="stop">header</div><div>rest</div>`, "new\n"},
		{"mark", `<div>On Monday Bob wrote:</div><blockquote>old</blockquote><div>new</div>`, "On Monday Bob wrote:\n>\nnew\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in, Options{Layout: Lines, Filter: filter, Mark: ">"}); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	in := strings.Repeat("<p>a line of text</p>", 1000)
	got := String(in, Options{Layout: Lines, Limit: 100})
	if len(got) > 100+len("a line of text\n") || !strings.HasPrefix(got, "a line of text\n") {
		t.Errorf("Limit 100: got %d bytes: %q", len(got), got)
	}
}

// TestDeepNesting checks that HTML nested far deeper than the parser
// accepts still gives its text.
func TestDeepNesting(t *testing.T) {
	in := strings.Repeat("<div><blockquote>", 20000) + "x"
	if got := strings.TrimSpace(String(in, Options{})); got != "x" {
		t.Errorf("got %q", got)
	}
}
