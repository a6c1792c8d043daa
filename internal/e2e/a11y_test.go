package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
)

// axeSource is axe-core 4.14.1 (axe.min.js from the npm package, MPL-2.0:
// testdata/axe-core.LICENSE), injected into pages through the DevTools
// protocol.
//
//go:embed testdata/axe.min.js
var axeSource string

// wcagTags are the rules the pages must pass: WCAG 2.1 A and AA.
var wcagTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

type viewport struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool
}

var (
	desktop = viewport{"desktop", 1366, 900, 1, false}
	phone   = viewport{"phone", 390, 844, 3, true}
	// zoomed is a 1280×800 screen at 200 % zoom: 640×400 CSS pixels.
	zoomed = viewport{"zoom200", 640, 400, 2, false}
)

func (tb *tab) setViewport(v viewport) {
	tb.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(v.scale)}
	if v.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	tb.do("set the viewport to "+v.name, chromedp.EmulateViewport(v.width, v.height, opts...))
}

// axeViolation is one failed rule as axe reports it.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target  []any
		Summary string
	}
}

// checkAxe runs axe-core on the page (open shadow roots included, so the
// widget too) and fails the test on any WCAG 2.1 A/AA violation.
func checkAxe(tb *tab, what string) {
	tb.t.Helper()
	if !eval[bool](tb, `typeof window.axe === 'object'`) {
		ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+"\n;true"))
		cancel()
		if err != nil {
			tb.t.Fatalf("%s: inject axe-core: %v", what, err)
		}
	}
	// Colours are measured as drawn: an element still fading in (the
	// widget's preview, 0.2 s) would be measured half transparent.
	settle, cancelSettle := context.WithTimeout(tb.ctx, 10*time.Second)
	_, err := chromedp.Run(settle, chromedp.Evaluate[bool](`Promise.race([
		Promise.all([document, ...Array.from(document.querySelectorAll('*'), (e) => e.shadowRoot).filter(Boolean)]
			.flatMap((r) => r.getAnimations())
			.filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
			.map((a) => a.finished.catch(() => {}))),
		new Promise((done) => setTimeout(done, 2000)),
	]).then(() => true)`, chromedp.EvalAwaitPromise))
	cancelSettle()
	if err != nil {
		tb.t.Fatalf("%s: wait for animations: %v", what, err)
	}
	tags := `['` + strings.Join(wcagTags, `','`) + `']`
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
		runOnly: { type: 'tag', values: `+tags+` }, resultTypes: ['violations'] })
		.then((r) => r.violations.map((v) => ({ ID: v.id, Impact: v.impact || '', Help: v.help,
			Nodes: v.nodes.map((n) => ({ Target: n.target, Summary: n.failureSummary || '' })) })))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: run axe-core: %v", what, err)
	}
	for _, v := range got {
		var b strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		tb.t.Errorf("%s: axe %s (%s): %s%s", what, v.ID, v.Impact, v.Help, b.String())
	}
	tb.screenshot(what)
}

// screenshot saves the viewport as a PNG under $PARLEY_SCREENSHOTS, when
// set, for a person to look at.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		tb.saveScreenshot(dir, name)
	}
}

// saveScreenshot writes the viewport to dir (made if missing) as name.png
// and returns the file's path.
func (tb *tab) saveScreenshot(dir, name string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(dir, strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' {
			return '-'
		}
		return r
	}, name)+".png")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(file, png.Data, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	return file
}

// The demo page with the widget closed, open in a conversation, in the
// offline contact form and with a message that failed to send passes
// axe's WCAG 2.1 A/AA rules at desktop and phone sizes.
func TestAccessibilityWidget(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t, "PARLEY_AGENT_AWAY_AFTER", "5m")
			visitor := newTab(t, "visitor")
			visitor.setViewport(v)

			visitor.navigate(srv.URL + "/demo")
			visitor.waitFor("the widget launcher", inWidget(`$('launcher')`), 10*time.Second)
			checkAxe(visitor, v.name+" widget closed")

			// Every agent is offline: the contact form comes first.
			eval[bool](visitor, inWidget(`($('launcher').click(), true)`))
			visitor.waitFor("the offline contact form", inWidget(`!$('contact-form').hidden && $('status').textContent === 'away'`), 10*time.Second)
			// A keyboard is ready to type the name; a touch screen's keyboard
			// does not come up over the form: the window has the focus.
			focused := "contact-name"
			if v.mobile {
				focused = "window"
			}
			if !eval[bool](visitor, focusIs(focused)) {
				t.Errorf("the form opened with the focus on %s, want %s", eval[string](visitor, inWidget(`sr.activeElement ? sr.activeElement.getAttribute('data-parley') || sr.activeElement.id : 'nothing'`)), focused)
			}
			checkAxe(visitor, v.name+" widget offline form")
			fillContactForm(visitor, "Vera", "not-an-email")
			visitor.waitFor("the email error", inWidget(`$('error') && $('contact-email').getAttribute('aria-invalid') === 'true'`), 10*time.Second)
			checkAxe(visitor, v.name+" widget offline form with an error")

			// An agent comes online and answers.
			a := srv.AddAgent("ada@example.com", "Ada")
			srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			visitor.waitFor("the widget to show agents online", inWidget(`$('status').textContent === 'online'`), 10*time.Second)
			fillContactForm(visitor, "Vera", "vera@example.com")
			visitor.waitFor("the composer", inWidget(`!$('input').closest('.composer').hidden`), 10*time.Second)
			typeInWidget(visitor, "Is the Morning Pot dishwasher safe? https://example.com/pots")
			visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
			_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
			srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Yes, it is.", "kind": "reply"}, http.StatusCreated, nil)
			visitor.waitFor("the answer", inWidget(`$$('message').some((m) => m.textContent.includes('Yes, it is.'))`), 10*time.Second)
			checkAxe(visitor, v.name+" widget open")

			// The server goes away: a message waits, marked as not sent.
			srv.Stop()
			visitor.waitFor("the connection notice", inWidget(`!$('connection').hidden`), 10*time.Second)
			typeInWidget(visitor, "Hello?")
			visitor.waitFor("the failed message", inWidget(`$$('message').some((m) => m.getAttribute('data-status') === 'failed')`), 10*time.Second)
			checkAxe(visitor, v.name+" widget failed message")
		})
	}
}

// The dashboard's login page, inbox, a conversation and every Settings
// page pass axe's WCAG 2.1 A/AA rules at desktop and phone sizes.
func TestAccessibilityDashboard(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			srv.AddAgent("ada@example.com", "Ada")
			_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Do you ship to Norway? See https://example.com/norway")
			agent := newTab(t, "agent")
			agent.setViewport(v)

			agent.navigate(srv.URL + "/dashboard/login")
			checkAxe(agent, v.name+" dashboard login")
			agent.do("log in with a wrong password",
				chromedp.SendKeys(chromedp.CSS(`[data-testid="login-email"]`), "ada@example.com"),
				chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), "wrong password"),
				chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			)
			agent.waitFor("the login error", `document.querySelector('[data-testid="login-error"]')`, 10*time.Second)
			checkAxe(agent, v.name+" dashboard login error")

			loginDashboard(agent, srv.URL, "ada@example.com")
			checkAxe(agent, v.name+" dashboard inbox")

			agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
			waitLive(agent)
			sendReply(agent, "send-reply", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Yes, in 3 to 5 days."))
			agent.waitFor("the reply", `Array.from(document.querySelectorAll('[data-testid="message"][data-author-kind="agent"]')).length === 1`, 10*time.Second)
			waitLive(agent)
			sendReply(agent, "send-comment", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Check the courier."))
			agent.waitFor("the note", `document.querySelector('[data-testid="message"][data-kind="comment"]')`, 10*time.Second)
			waitLive(agent)
			checkAxe(agent, v.name+" dashboard conversation")

			for _, p := range []struct{ name, path string }{
				{"settings", "/dashboard/settings"},
				{"settings saved", "/dashboard/settings?saved=1"},
				{"settings channels", "/dashboard/settings/channels"},
			} {
				agent.navigate(srv.URL + p.path)
				waitLive(agent)
				eval[bool](agent, `(document.querySelectorAll('details').forEach((d) => { d.open = true; }), true)`)
				checkAxe(agent, v.name+" dashboard "+p.name)
			}

			// At 320 CSS pixels (1280 px at 400 %) nothing needs scrolling sideways.
			agent.setViewport(viewport{"narrow", 320, 640, 1, true})
			for _, p := range []string{"/dashboard", "/dashboard/conversations/" + convID, "/dashboard/settings", "/dashboard/settings/channels"} {
				agent.navigate(srv.URL + p)
				if w := eval[int](agent, `document.documentElement.scrollWidth`); w > 320 {
					t.Errorf("%s at 320 px is %d px wide", p, w)
					agent.screenshot("narrow " + p)
				}
				if !eval[bool](agent, `(() => { const r = document.querySelector('.topbar form.logout-form button').getBoundingClientRect(); return r.right <= 320 && r.width > 0; })()`) {
					t.Errorf("%s at 320 px: the top bar's Log out button is outside the screen", p)
				}
			}
		})
	}
}

// focusIs is true when the focus is on the widget element named.
func focusIs(name string) string {
	return `document.activeElement === document.querySelector('#parley-widget') && ` +
		inWidget(`sr.activeElement === $('`+name+`')`)
}

// press types keys as real key events.
func (tb *tab) press(keys string, opts ...chromedp.KeyOption) {
	tb.t.Helper()
	tb.do(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys, opts...))
}

// A keyboard user opens the widget from the page, writes, sends and
// closes it; the focus goes back to the launcher.
func TestWidgetKeyboard(t *testing.T) {
	srv, _ := startWithAgentOnline(t)
	visitor := newTab(t, "visitor")
	visitor.setViewport(desktop)
	visitor.navigate(srv.URL + "/demo")
	visitor.waitFor("the widget launcher", inWidget(`$('launcher')`), 10*time.Second)

	for i := 0; i < 20 && !eval[bool](visitor, focusIs("launcher")); i++ {
		visitor.press("\t")
	}
	if !eval[bool](visitor, focusIs("launcher")) {
		t.Fatal("Tab never reached the widget's launcher")
	}
	visitor.press("\r")
	visitor.waitFor("the window", inWidget(`!$('window').hidden && $('launcher').getAttribute('aria-expanded') === 'true'`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('window').getAttribute('aria-modal') || ''`)); got != "" {
		t.Errorf("desktop window aria-modal=%q, want none (it does not cover the page)", got)
	}
	visitor.waitFor("the optional form or the composer", inWidget(`!$('contact-form').hidden || !$('input').closest('.composer').hidden`), 10*time.Second)
	if eval[bool](visitor, inWidget(`!$('contact-form').hidden`)) {
		visitor.waitFor("focus in the form", focusIs("contact-name"), 10*time.Second)
		for i := 0; i < 5 && !eval[bool](visitor, focusIs("contact-skip")); i++ {
			visitor.press("\t")
		}
		visitor.press("\r")
	}
	visitor.waitFor("focus in the composer", focusIs("input"), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('window').getAttribute('aria-label')`)); got != "Chat with "+srv.Workspace.Name {
		t.Errorf("dialog name %q, want %q", got, "Chat with "+srv.Workspace.Name)
	}
	visitor.press("Typed with the keyboard")
	visitor.press("\r")
	visitor.waitFor("the message sent", inWidget(`$$('message').some((m) => m.getAttribute('data-id') && m.textContent.includes('Typed with the keyboard'))`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('input').value`)); got != "" {
		t.Errorf("composer holds %q after sending", got)
	}
	// Tab reaches the send button; back through the input and the attach
	// button and the message list, the close button's ring shows.
	visitor.press("\t")
	visitor.waitFor("focus on send", focusIs("send"), 5*time.Second)
	visitor.press("\t", chromedp.KeyModifiers(chromedp.ModifierShift))
	visitor.press("\t", chromedp.KeyModifiers(chromedp.ModifierShift))
	visitor.waitFor("focus on attach", focusIs("attach"), 5*time.Second)
	visitor.press("\t", chromedp.KeyModifiers(chromedp.ModifierShift))
	visitor.press("\t", chromedp.KeyModifiers(chromedp.ModifierShift))
	visitor.waitFor("focus on close", focusIs("close"), 5*time.Second)
	ring := eval[string](visitor, inWidget(`getComputedStyle($('close')).outlineColor + ' ' + getComputedStyle($('close')).outlineStyle`))
	if ring != "rgb(255, 255, 255) solid" {
		t.Errorf("close button focus ring %q, want a solid white outline on the blue header", ring)
	}
	visitor.press("\u001b")
	visitor.waitFor("the window closed", inWidget(`$('window').hidden`), 5*time.Second)
	visitor.waitFor("focus back on the launcher", focusIs("launcher"), 5*time.Second)
}

// In the phone layout the window covers the page: it is a modal dialog
// and Tab and Shift+Tab stay inside it.
func TestWidgetFocusTrapOnPhone(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	visitor.setViewport(phone)
	visitor.navigate(srv.URL + "/demo")
	visitor.waitFor("the widget launcher", inWidget(`$('launcher')`), 10*time.Second)
	eval[bool](visitor, inWidget(`($('launcher').focus(), true)`))
	visitor.press("\r")
	visitor.waitFor("the contact form", inWidget(`!$('contact-form').hidden`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('window').getAttribute('aria-modal')`)); got != "true" {
		t.Errorf("phone window aria-modal=%q, want true", got)
	}
	if !eval[bool](visitor, inWidget(`(() => { const r = $('window').getBoundingClientRect(); return r.left === 0 && r.top === 0 && r.width === innerWidth && r.height === innerHeight; })()`)) {
		t.Error("the phone window does not cover the viewport")
	}
	inside := `document.activeElement === document.querySelector('#parley-widget') && ` + inWidget(`$('window').contains(sr.activeElement)`)
	seen := map[string]bool{}
	for i := 0; i < 12; i++ {
		visitor.press("\t")
		if !eval[bool](visitor, inside) {
			t.Fatalf("Tab %d left the window for %s", i+1, eval[string](visitor, `document.activeElement.outerHTML.slice(0, 120)`))
		}
		seen[eval[string](visitor, inWidget(`sr.activeElement.getAttribute('data-parley') || sr.activeElement.tagName`))] = true
	}
	for _, want := range []string{"close", "contact-name", "contact-email", "contact-submit", "messages"} {
		if !seen[want] {
			t.Errorf("Tab never reached %s (reached %v)", want, seen)
		}
	}
	for i := 0; i < 12; i++ {
		visitor.press("\t", chromedp.KeyModifiers(chromedp.ModifierShift))
		if !eval[bool](visitor, inside) {
			t.Fatalf("Shift+Tab %d left the window", i+1)
		}
	}
	// Focus moved to the page behind by a script comes back.
	eval[bool](visitor, `(document.querySelector('nav a').focus(), true)`)
	visitor.waitFor("focus back in the window", inside, 5*time.Second)
	visitor.press("\u001b")
	visitor.waitFor("focus back on the launcher", focusIs("launcher"), 5*time.Second)
}

// A reply that arrives while the window is closed is read out by the
// status region outside the window.
func TestWidgetAnnouncesRepliesWhileClosed(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	visitor := newTab(t, "visitor")
	visitorWrites(visitor, srv.URL+"/demo", "Anyone there?")
	_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
	eval[bool](visitor, inWidget(`($('close').click(), true)`))
	visitor.waitFor("the window closed", inWidget(`$('window').hidden`), 5*time.Second)

	region := inWidget(`$('announcer')`)
	if !eval[bool](visitor, region+` && `+inWidget(`$('announcer').getAttribute('role') === 'status' && $('announcer').getAttribute('aria-live') === 'polite' && !$('window').contains($('announcer')) && $('announcer').textContent === ''`)) {
		t.Fatal("no empty polite status region outside the window")
	}
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Yes, we are!", "kind": "reply"}, http.StatusCreated, nil)
	visitor.waitFor("the announcement", inWidget(`$('announcer').textContent === 'New message from Ada: Yes, we are!'`), 10*time.Second)
	// The region is in the accessibility tree although the window is hidden.
	if !eval[bool](visitor, inWidget(`$('announcer').getClientRects().length > 0 && getComputedStyle($('announcer')).visibility === 'visible'`)) {
		t.Error("the status region is not rendered")
	}
	if got := eval[string](visitor, inWidget(`$('launcher').getAttribute('aria-label')`)); got != "Open chat, 1 unread" {
		t.Errorf("launcher label %q", got)
	}

	// With the window open the log itself speaks; the region stays quiet.
	eval[bool](visitor, inWidget(`($('launcher').click(), true)`))
	visitor.waitFor("the window", inWidget(`!$('window').hidden && $('announcer').textContent === ''`), 5*time.Second)
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Second answer", "kind": "reply"}, http.StatusCreated, nil)
	visitor.waitFor("the second answer", inWidget(`$$('message').some((m) => m.textContent.includes('Second answer'))`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('announcer').textContent`)); got != "" {
		t.Errorf("status region says %q with the window open", got)
	}
}

// At 200 % zoom (640×400 CSS pixels) an offline visitor reaches the
// contact form's Continue button with the keyboard, sees it, and sends it.
func TestWidgetContactFormAtDoubleZoom(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	visitor.setViewport(zoomed)
	visitor.navigate(srv.URL + "/demo")
	if got := eval[string](visitor, `innerWidth + 'x' + innerHeight + '@' + devicePixelRatio`); got != "640x400@2" {
		t.Fatalf("viewport %s, want 640x400@2", got)
	}
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the contact form", inWidget(`!$('contact-form').hidden`), 10*time.Second)
	visitor.waitFor("focus in the name field", focusIs("contact-name"), 5*time.Second)
	visitor.press("Vera")
	visitor.press("\t")
	visitor.waitFor("focus in the email field", focusIs("contact-email"), 5*time.Second)
	visitor.press("vera@example.com")
	visitor.press("\t")
	visitor.waitFor("focus on Continue", focusIs("contact-submit"), 5*time.Second)
	// The focused button is in view and nothing covers it.
	visible := inWidget(`(() => { const b = $('contact-submit'), r = b.getBoundingClientRect();
		if (r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth || r.height === 0) return false;
		return sr.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b; })()`)
	visitor.waitFor("Continue in view", visible, 5*time.Second)
	visitor.screenshot("zoom200 widget offline form continue")
	visitor.press("\r")
	visitor.waitFor("the composer after the contact form", inWidget(`$('contact-form').hidden && !$('input').closest('.composer').hidden`), 10*time.Second)
	apptest.Eventually(t, 10*time.Second, "the contact saved", func() bool {
		return count(t, srv, `SELECT COUNT(*) FROM visitors WHERE email = 'vera@example.com'`) == 1
	})
}

// A new visitor's page view costs widget.js and the site's look (colour,
// side, language: one small cacheable answer): the session waits until the
// chat is opened. A returning visitor connects at once.
func TestWidgetFirstLoadIsOneRequest(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	visitor.navigate(srv.URL + "/demo")
	visitor.waitFor("the widget launcher", inWidget(`$('launcher')`), 10*time.Second)
	visitor.waitFor("the page loaded", `document.readyState === 'complete'`, 10*time.Second)
	resources := func() []string {
		// The browser's own request for the demo page's favicon is no cost of the widget.
		return eval[[]string](visitor, `performance.getEntriesByType('resource').map((e) => e.initiatorType + ' ' + new URL(e.name).pathname).filter((r) => r !== 'other /favicon.ico')`)
	}
	visitor.waitFor("the look", `performance.getEntriesByType('resource').some((e) => e.name.includes('/api/widget/v1/look'))`, 10*time.Second)
	if got := resources(); len(got) != 2 || got[0] != "script /widget.js" || got[1] != "fetch /api/widget/v1/look" {
		t.Fatalf("resources of a new visitor's page view: %v, want only script /widget.js and fetch /api/widget/v1/look", got)
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM visitors`); n != 0 {
		t.Errorf("%d visitors stored before the chat was opened", n)
	}
	eval[bool](visitor, inWidget(`($('launcher').click(), true)`))
	visitor.waitFor("the session", `window.Parley.visitorToken()`, 10*time.Second)
	// A new visitor has no history to fetch: the session said there is no conversation.
	visitor.waitFor("the live connection", inWidget(`$('connection').hidden`), 10*time.Second)

	// A returning visitor (a stored token) gets the session at once, for
	// the unread badge and presence.
	token := eval[string](visitor, `window.Parley.visitorToken()`)
	visitor.navigate(srv.URL + "/demo")
	visitor.waitFor("the session of the returning visitor", `performance.getEntriesByType('resource').some((e) => e.name.includes('/api/widget/v1/session'))`, 10*time.Second)
	if got := eval[string](visitor, `window.Parley.visitorToken()`); got != token {
		t.Errorf("token %q after reload, want %q", got, token)
	}
}

// The dashboard keeps the focus where it is when the conversation list is
// updated live, and reads out new visitor messages.
func TestDashboardLiveUpdatesKeepFocus(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	firstToken, first := newVisitorWithToken(t, srv, "Vera", "vera@example.com", "First question")
	agent := newTab(t, "agent")
	loginDashboard(agent, srv.URL, "ada@example.com")
	agent.navigate(srv.URL + "/dashboard/conversations/" + first)
	waitLive(agent)

	// Focus on the first conversation in the list, and on the close button.
	item := `document.querySelector('[data-testid="conversation-item"][data-id="` + first + `"]')`
	eval[bool](agent, `(`+item+`.focus(), window.__item = `+item+`, true)`)
	_, second := newVisitorConversation(t, srv, "Olaf", "olaf@example.com", "Second question")
	agent.waitFor("the new conversation in the list", `document.querySelector('[data-testid="conversation-item"][data-id="`+second+`"]')`, 10*time.Second)
	agent.waitFor("the announcement", `document.querySelector('[data-testid="announcer"]').textContent.startsWith('New message from Olaf: Second question')`, 10*time.Second)
	if !eval[bool](agent, `document.activeElement === window.__item && document.activeElement === `+item) {
		t.Errorf("focus after the list update is on %s", eval[string](agent, `document.activeElement.outerHTML.slice(0, 120)`))
	}

	// A new message in the open conversation leaves the close button focused.
	eval[bool](agent, `(document.querySelector('[data-testid="close-conversation"]').focus(), true)`)
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": firstToken, "body": "Also: gift wrap?", "client_id": "c2"}, http.StatusCreated, nil)
	agent.waitFor("the new message", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('gift wrap'))`, 10*time.Second)
	agent.waitFor("the announcement of the second message", `document.querySelector('[data-testid="announcer"]').textContent.includes('Also: gift wrap?')`, 10*time.Second)
	if !eval[bool](agent, `document.activeElement === document.querySelector('[data-testid="close-conversation"]')`) {
		t.Errorf("focus after the conversation update is on %s", eval[string](agent, `document.activeElement.outerHTML.slice(0, 120)`))
	}
}

// newVisitorWithToken is newVisitorConversation that also returns the
// visitor's token.
func newVisitorWithToken(t *testing.T, srv *apptest.Server, name, email, body string) (token, convID string) {
	t.Helper()
	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	if _, err := srv.App.Chat.VisitorContact(context.Background(), sess.Visitor.ID, email, name); err != nil {
		t.Fatal(err)
	}
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": body, "client_id": "c1"}, http.StatusCreated, &m)
	return sess.VisitorToken, m.ConversationID
}
