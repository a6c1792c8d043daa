package forward

import (
	"context"
	"fmt"
	"github.com/parleychat/parley/internal/contrast"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley/internal/mail/message"
)

// The HTML part rendered by a real browser, as webmail and phone apps do:
// at 375 px (a phone) and 600 px, in light and dark mode, no line may
// scroll sideways, the conversation link's token URL is not visible text,
// the preheader is hidden, and message text reads on its background.
// PARLEY_SCREENSHOT_DIR keeps the screenshots for a look.

func chromium(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("PARLEY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("no Chromium at %s (set PARLEY_CHROMIUM): %v", path, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// hardEmail is an email with everything that used to widen it on phones.
func hardEmail(t *testing.T) (message.Message, ComposeInput) {
	t.Helper()
	snap := snapshot(chat()...)
	snap.Messages[0].Body = "Here is the link: https://shop.example.com/orders/10482/tracking?carrier=ups&reference=1Z999AA10123456784&session=" +
		strings.Repeat("abcdef0123", 12)
	snap.Messages[1].Body = "Supercalifragilisticexpialidocious" + strings.Repeat("x", 150) + "\nand a second line"
	snap.Messages[2].Body = "The carrier confirmed the parcel is at your local depot and will be delivered tomorrow morning between 8 and 12. " +
		strings.Repeat("Long text wraps. ", 20)
	snap.VisitorName = "Maximiliane Alexandra von Oberhausen-Steinberg"
	in := composeInput(t, snap, ModeTranscript)
	in.WorkspaceName = "Grüne Wiese Versandhandel für nachhaltige Outdoorbekleidung GmbH & Co. KG"
	in.ConversationURL = "https://chat.example.com/chat/" + strings.Repeat("t0k3n", 12)
	return mustCompose(t, in), in
}

func TestHTMLRendersOnPhonesAndDesktops(t *testing.T) {
	if testing.Short() {
		t.Skip("renders in Chromium")
	}
	ctx := chromium(t)
	hard, hardIn := hardEmail(t)
	preview, err := Preview(ModeUnread, "Acme", time.UTC, t0)
	if err != nil {
		t.Fatal(err)
	}
	emails := map[string]struct {
		e       message.Message
		hidden  []string // must not be visible text
		visible []string
	}{
		"hard": {hard, []string{hardIn.ConversationURL, "t0k3nt0k3n", "unsubscribe/tok"},
			[]string{"Grüne Wiese Versandhandel", "Continue the conversation", "Unsubscribe", "Supercalifragilistic"}},
		"preview": {preview, []string{"https://example.com/", "unsubscribe/preview"}, []string{"Acme", "Continue the conversation"}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, ok := emails[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, e.e.HTML)
	}))
	defer srv.Close()
	shots := os.Getenv("PARLEY_SCREENSHOT_DIR")

	for name, em := range emails {
		for _, width := range []int64{375, 600} {
			for _, dark := range []bool{false, true} {
				scheme := "light"
				if dark {
					scheme = "dark"
				}
				t.Run(fmt.Sprintf("%s/%dpx/%s", name, width, scheme), func(t *testing.T) {
					tab, cancel := chromedp.NewContext(ctx)
					defer cancel()
					tab, cancelTimeout := context.WithTimeout(tab, 30*time.Second)
					defer cancelTimeout()
					if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 900)); err != nil {
						t.Fatal(err)
					}
					if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
						t.Fatal(err)
					}
					if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/"+name)); err != nil {
						t.Fatal(err)
					}
					eval := func(js string, out any) {
						t.Helper()
						var err error
						switch o := out.(type) {
						case *bool:
							*o, err = chromedp.Run(tab, chromedp.Evaluate[bool](js))
						case *float64:
							*o, err = chromedp.Run(tab, chromedp.Evaluate[float64](js))
						case *string:
							*o, err = chromedp.Run(tab, chromedp.Evaluate[string](js))
						case *[]float64:
							*o, err = chromedp.Run(tab, chromedp.Evaluate[[]float64](js))
						}
						if err != nil {
							t.Fatalf("evaluate %s: %v", js, err)
						}
					}
					var (
						fits           bool
						scrollW, inner float64
						cardW          float64
						text           string
						contrasts      []float64
					)
					eval(`document.documentElement.scrollWidth <= window.innerWidth`, &fits)
					eval(`document.documentElement.scrollWidth`, &scrollW)
					eval(`window.innerWidth`, &inner)
					eval(`document.querySelector('table.bg-card').getBoundingClientRect().width`, &cardW)
					eval(`document.body.innerText`, &text)
					eval(contrastJS, &contrasts)
					png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatal(err)
					}
					if shots != "" {
						p := filepath.Join(shots, fmt.Sprintf("email-%s-%d-%s.png", name, width, scheme))
						if err := os.WriteFile(p, png, 0o644); err != nil {
							t.Fatal(err)
						}
						t.Logf("screenshot: %s", p)
					}
					if !fits {
						t.Errorf("scrolls sideways: scrollWidth %.0f > innerWidth %.0f", scrollW, inner)
					}
					if cardW > 600 || cardW > float64(width) {
						t.Errorf("the email is %.0f px wide at a %d px viewport", cardW, width)
					}
					for _, h := range em.hidden {
						if strings.Contains(text, h) {
							t.Errorf("visible text shows %q", h)
						}
					}
					for _, v := range em.visible {
						if !strings.Contains(text, v) {
							t.Errorf("visible text lacks %q", v)
						}
					}
					if len(contrasts) == 0 {
						t.Fatal("no message text found")
					}
					for i, c := range contrasts {
						if c < 4.5 {
							t.Errorf("message text %d has a contrast of %.2f on its background, want at least 4.5", i, c)
						}
					}
				})
			}
		}
	}
}

// contrastJS returns the WCAG contrast of every message text against the
// background it sits on.
const contrastJS = `(() => {
  const rgb = s => (s.match(/[\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
  return [...document.querySelectorAll('p.msg-text')].map(p => {
    const a = lum(rgb(getComputedStyle(p).color)), b = lum(bg(p));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
})()`

// The hidden preheader holds the first words of the newest reply.
func TestHTMLPreheader(t *testing.T) {
	snap := snapshot(chat()...)
	snap.Messages[2].Body = "Your parcel is at the depot and will be delivered tomorrow morning between eight and twelve, signed for at the door by anyone at home."
	e := mustCompose(t, composeInput(t, snap, ModeUnread))
	want := `mso-hide:all;color:#f4f5f7;">Your parcel is at the depot and will be delivered tomorrow morning between eight and twelve, signed…`
	if !strings.Contains(e.HTML, want) {
		t.Errorf("html lacks the preheader %q:\n%s", want, e.HTML)
	}
	short := mustCompose(t, composeInput(t, snapshot(chat()...), ModeUnread))
	if !strings.Contains(short.HTML, `color:#f4f5f7;">agent r2`) {
		t.Errorf("short reply not the whole preheader:\n%s", short.HTML)
	}
}

func TestBrandColor(t *testing.T) {
	tests := []struct{ in, brand, on, text string }{
		{"", DefaultBrandColor, "#ffffff", DefaultBrandColor},
		{"not a colour", DefaultBrandColor, "#ffffff", DefaultBrandColor},
		{"#FFD500", "#ffd500", contrast.Dark, contrast.Dark}, // yellow: dark text on it, too light for text on white
		{"#0B3D91", "#0b3d91", "#ffffff", "#0b3d91"},
		{"#abc", DefaultBrandColor, "#ffffff", DefaultBrandColor},
	}
	for _, tc := range tests {
		b := brandColor(tc.in)
		if b != tc.brand || contrast.TextOn(b) != tc.on || contrast.ReadableOnWhite(b) != tc.text {
			t.Errorf("%q: brand %s on %s text %s, want %s %s %s", tc.in, b, contrast.TextOn(b), contrast.ReadableOnWhite(b), tc.brand, tc.on, tc.text)
		}
	}
	in := composeInput(t, snapshot(chat()...), ModeUnread)
	in.BrandColor = "#0B3D91"
	if e := mustCompose(t, in); !strings.Contains(e.HTML, "background:#0b3d91;color:#ffffff;") {
		t.Error("the brand colour is not the header's")
	}
}

// The text part carries what the HTML part shows: the brand, every message
// with its author and time, the link and the unsubscribe address.
func TestTextPartMatchesHTML(t *testing.T) {
	e, in := hardEmail(t)
	name := in.WorkspaceName
	for _, want := range []string{
		name + "\n" + strings.Repeat("=", len([]rune(name))) + "\n\nHi Maximiliane",
		"Maximiliane Alexandra von Oberhausen-Steinberg · Mon 2 Mar 10:34 UTC\nHere is the link: https://shop.example.com/orders/10482/",
		"[new] Alex · Mon 2 Mar 10:36 UTC\nThe carrier confirmed",
		"Continue the conversation: " + in.ConversationURL + "\n",
		"Unsubscribe: " + in.UnsubscribeURL + "\n",
	} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, e.Text)
		}
	}
}

// A message in a right-to-left script reads right to left in the HTML
// part: each message's text takes its direction from itself.
func TestHTMLMessageDirection(t *testing.T) {
	snap := snapshot(chat()...)
	snap.Messages[2].Body = "شكراً، سنرسل الطلب غداً."
	e := mustCompose(t, composeInput(t, snap, ModeUnread))
	re := regexp.MustCompile(`<p class="fg-main msg-text" dir="auto"[^>]*>شكراً، سنرسل الطلب غداً.</p>`)
	if !re.MatchString(e.HTML) {
		t.Errorf("the Arabic reply has no direction of its own:\n%s", e.HTML)
	}
}

// The email writes its times as the visitor's region does: an American
// visitor's (locale en-US) "Mon, Jan 5, 8:05 AM EST", a British one's
// "Mon 5 Jan 13:05 GMT".
func TestEmailTimesByRegion(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct {
		locale string
		loc    *time.Location
		clock  *regexp.Regexp
	}{
		{"en-US", ny, regexp.MustCompile(`\b[A-Z][a-z]{2}, [A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d\d [AP]M E[SD]T\b`)},
		{"en-GB", london, regexp.MustCompile(`\b[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d\d:\d\d (GMT|BST)\b`)},
	}
	for _, tt := range tests {
		in := composeInput(t, snapshot(chat()...), ModeUnread)
		in.Lang, in.Locale, in.Location = "en", tt.locale, tt.loc
		e := mustCompose(t, in)
		if !tt.clock.MatchString(e.Text) || !tt.clock.MatchString(e.HTML) {
			t.Errorf("%s: no time like %s in\n%s", tt.locale, tt.clock, e.Text)
		}
	}
}
