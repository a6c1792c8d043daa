package reply

import (
	"strings"
	"testing"
)

// badInputs build hostile reply bodies of a size set by n, each with new
// text on top that must survive.
var badInputs = []struct {
	name  string
	build func(n int) string
	want  string // the new text kept
}{
	{"quote levels", func(n int) string {
		return "New text on top\n\n" + strings.Repeat(">", n) + " deepest\n" + strings.Repeat("> ", n/10) + "old"
	}, "New text on top"},
	{"nested quote lines", func(n int) string {
		var b strings.Builder
		b.WriteString("New text on top\n")
		for i := 0; i < n; i++ {
			b.WriteString(strings.Repeat(">", i%200+1) + " level\n")
		}
		return b.String()
	}, "New text on top"},
	{"attribution-like lines", func(n int) string {
		return "New text on top\n" + strings.Repeat("On Mon, Jan 4, 2016 at 7:03 PM Jane Doe <jane@example.com> said\n", n)
	}, ""},
	{"wrapped attribution starts", func(n int) string {
		return "New text on top\n" + strings.Repeat("4 janv. 2016 19:03 Jane <\n", n)
	}, ""},
	{"header fields without a block", func(n int) string {
		return "New text on top\n" + strings.Repeat("From: a\nSubject: b\n", n)
	}, ""},
	{"generic signatures mid-text", func(n int) string {
		return "New text on top\n" + strings.Repeat("Sent from my desk\n\n\nstill mine\n", n)
	}, ""},
	{"header block without a blank line", func(n int) string {
		return "New text on top\nSent from my desk\nFrom: a\nSent: b\nTo: c\n" + strings.Repeat("x\n", n)
	}, "New text on top"},
	{"mixed scripts and RTL", func(n int) string {
		return "שלום, ההזמנה הגיעה. مرحبا، Привет 你好 \u202eevil\u202c\n" + strings.Repeat("בתאריך 4 בינו׳ 2016 19:03, Jane <jane@example.com> כתב/ה:\n", n)
	}, ""},
}

// TestBadInputLinear checks that the work done on hostile bodies grows
// linearly: four times the input may cost at most about four times the
// work (counted by costHook, not timed).
func TestBadInputLinear(t *testing.T) {
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			small, large := cost(tt.build(1000)), cost(tt.build(4000))
			if large > 5*small+1000 {
				t.Errorf("work grew from %d to %d for four times the input", small, large)
			}
		})
	}
}

func cost(in string) int {
	total := 0
	costHook = func(n int) { total += n }
	defer func() { costHook = nil }()
	Text(in)
	return total
}

// TestBadInput checks that the new text on top of hostile bodies is kept.
func TestBadInput(t *testing.T) {
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.build(10000)
			got := Text(in)
			first, _, _ := strings.Cut(in, "\n")
			if !strings.HasPrefix(got, first) {
				t.Errorf("the first line %q is lost; got %.200q", first, got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("got %.200q, want %q", got, tt.want)
			}
			checkOutput(t, in, got)
		})
	}
}

// TestHugeSingleLine runs a 25 MiB body on one line, plain and HTML.
func TestHugeSingleLine(t *testing.T) {
	if testing.Short() {
		t.Skip("25 MiB input")
	}
	line := strings.Repeat("new text without a line break, ", 25<<20/32)
	if got := Text(line); got != strings.TrimSpace(line) {
		t.Errorf("plain: got %d bytes, want %d", len(got), len(strings.TrimSpace(line)))
	}
	if got := HTML("<p>" + line + "</p>"); got != strings.TrimSpace(line) {
		t.Errorf("HTML: got %d bytes, want %d", len(got), len(strings.TrimSpace(line)))
	}
}

// TestDeepHTMLQuotes nests 10,000 blockquotes below the new text.
func TestDeepHTMLQuotes(t *testing.T) {
	in := "<div>New text on top</div>" + strings.Repeat("<blockquote>", 10000) + "old" + strings.Repeat("</blockquote>", 10000)
	got := HTML(in)
	if !strings.HasPrefix(got, "New text on top") || strings.Contains(got, "old") && got == "" {
		t.Errorf("got %.200q", got)
	}
}

func BenchmarkBadInput(b *testing.B) {
	for _, tt := range badInputs {
		for _, n := range []int{1000, 4000} {
			in := tt.build(n)
			b.Run(tt.name+"/"+strings.Repeat("x", n/1000), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					sink = Text(in)
				}
			})
		}
	}
}
