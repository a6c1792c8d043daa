package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// One browser serves the whole package; every tab gets a browser context
// of its own (separate cookies and localStorage), like separate people.
var shared struct {
	once    sync.Once
	ctx     context.Context
	cancel  func()
	dataDir string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dataDir != "" {
		_ = os.RemoveAll(shared.dataDir)
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// browser returns the shared browser, skipping the test when there is none
// (failing it on CI).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("no Chromium at %s (set PARLEY_CHROMIUM): %v", path, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "parley-e2e-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dataDir = dir
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelBrowser := chromedp.NewContext(allocCtx)
		shared.ctx = ctx
		shared.cancel = func() { cancelBrowser(); cancelAlloc() }
		// The first run starts the browser; it must not carry a timeout.
		shared.err = chromedp.Do(ctx)
	})
	if shared.err != nil {
		t.Fatalf("start Chromium %s: %v", path, shared.err)
	}
	return shared.ctx
}

// tab is one page in its own browser context.
type tab struct {
	t       *testing.T
	name    string
	ctx     context.Context
	dialogs atomic.Int32
	mu      sync.Mutex
	console []string
}

func newTab(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, name: name, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open %s tab: %v", name, err)
	}
	// Any dialog (alert, confirm, prompt) is counted and dismissed, so an
	// injected alert() shows up as a failure instead of blocking the page.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.dialogs.Add(1)
			tb.logf("dialog opened: %s %q", ev.Type, ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return tb
}

func (tb *tab) logf(format string, args ...any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.console = append(tb.console, fmt.Sprintf(format, args...))
}

// do runs actions with a timeout.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s tab: %s: %v%s", tb.name, what, err, tb.diagnose())
	}
}

func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.do("navigate to "+url, chromedp.Navigate(url))
}

// eval runs a JavaScript expression and decodes its JSON value.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("%s tab: evaluate %s: %v%s", tb.name, js, err, tb.diagnose())
	}
	return v
}

// waitFor polls a JavaScript condition until it is true.
func (tb *tab) waitFor(what, js string, timeout time.Duration) {
	tb.t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		cancel()
		if err == nil && ok {
			if d := time.Since(start); d > time.Second {
				tb.t.Logf("%s tab: waited %v for %s", tb.name, d.Round(time.Millisecond), what)
			}
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("%s tab: timed out after %v waiting for %s (last error: %v)%s", tb.name, timeout, what, lastErr, tb.diagnose())
}

// diagnose describes the page for a failure message.
func (tb *tab) diagnose() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	info, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText.slice(0, 1500) : "") +
		"\n--- widget ---\n" + (document.querySelector('#parley-widget') && document.querySelector('#parley-widget').shadowRoot ?
		document.querySelector('#parley-widget').shadowRoot.querySelector('.root').innerText.slice(0, 1500) : "(none)")`))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		info = "(page unavailable: " + err.Error() + ")"
	}
	tb.mu.Lock()
	events := strings.Join(tb.console, "\n")
	tb.mu.Unlock()
	return "\n--- page ---\n" + info + "\n--- events ---\n" + events
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- the visitor widget (inside an open shadow root) -------------------------------

// inWidget wraps an expression so that $(name) finds [data-parley=name]
// inside the widget's shadow root and sr is the root itself.
func inWidget(expr string) string {
	return `(() => { const host = document.querySelector('#parley-widget'); const sr = host && host.shadowRoot;
		const $ = (n) => sr && sr.querySelector('[data-parley="' + n + '"]');
		const $$ = (n) => sr ? Array.from(sr.querySelectorAll('[data-parley="' + n + '"]')) : [];
		return (` + expr + `); })()`
}

// widgetMessage is a message as the widget shows it.
type widgetMessage struct {
	ID, Kind, Author, Body, Status string
}

func widgetMessages(tb *tab) []widgetMessage {
	tb.t.Helper()
	return eval[[]widgetMessage](tb, inWidget(`$$('message').map((m) => ({
		ID: m.getAttribute('data-id') || '', Kind: m.getAttribute('data-author-kind') || '',
		Author: (m.querySelector('[data-parley="author"]') || {}).textContent || '',
		Body: (m.querySelector('[data-parley="body"]') || {}).textContent || '',
		Status: m.getAttribute('data-status') || '' }))`))
}

// openWidget loads the demo page and opens the chat window. A new
// visitor's session starts when the window opens.
func openWidget(tb *tab, url string) {
	tb.t.Helper()
	tb.navigate(url)
	tb.waitFor("the widget launcher", inWidget(`$('launcher')`), 10*time.Second)
	if !eval[bool](tb, inWidget(`!$('window').hidden`)) {
		eval[bool](tb, inWidget(`($('launcher').click(), true)`))
	}
	tb.waitFor("the chat window", inWidget(`!$('window').hidden`), 10*time.Second)
	tb.waitFor("the widget session", `window.Parley && window.Parley.visitorToken()`, 10*time.Second)
}

// skipOptionalForm clicks "Skip" on the optional pre-chat form.
func skipOptionalForm(tb *tab) {
	tb.t.Helper()
	tb.waitFor("the optional contact form or the composer", inWidget(`!$('contact-form').hidden || !$('input').closest('.composer').hidden`), 10*time.Second)
	if eval[bool](tb, inWidget(`!$('contact-form').hidden && !$('contact-skip').hidden`)) {
		eval[bool](tb, inWidget(`($('contact-skip').click(), true)`))
	}
	tb.waitFor("the composer", inWidget(`!$('input').closest('.composer').hidden`), 10*time.Second)
}

// typeInWidget types a message into the widget with real key events and
// sends it with Enter.
func typeInWidget(tb *tab, text string) {
	tb.t.Helper()
	eval[bool](tb, inWidget(`($('input').focus(), true)`))
	tb.waitFor("focus in the widget input", inWidget(`sr.activeElement === $('input')`), 5*time.Second)
	tb.do("type in the widget", chromedp.KeyEvent(text), chromedp.KeyEvent("\r"))
}

// fillContactForm fills and submits the widget's contact form.
func fillContactForm(tb *tab, name, email string) {
	tb.t.Helper()
	tb.waitFor("the contact form", inWidget(`!$('contact-form').hidden`), 10*time.Second)
	eval[bool](tb, inWidget(`(() => {
		const set = (el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); };
		set($('contact-name'), `+js(name)+`);
		set($('contact-email'), `+js(email)+`);
		$('contact-submit').click();
		return true; })()`))
}

// ---- the dashboard -------------------------------------------------------------------

const agentPassword = "correct horse battery" // apptest.AddAgent's password

// loginDashboard logs an agent in through the login form and waits until
// the dashboard's live connection is up.
func loginDashboard(tb *tab, baseURL, email string) {
	tb.t.Helper()
	tb.navigate(baseURL + "/dashboard/login")
	tb.do("log in",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), agentPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
	)
	tb.waitFor("the dashboard after login", `location.pathname === '/dashboard' && document.querySelector('[data-testid="status"]')`, 10*time.Second)
	waitLive(tb)
}

// waitLive waits until the dashboard page's WebSocket is open.
func waitLive(tb *tab) {
	tb.t.Helper()
	tb.waitFor("the dashboard's live connection", `document.readyState === 'complete' && document.body.dataset.ws === 'open'`, 10*time.Second)
}

// dashMessage is a message as the dashboard shows it.
type dashMessage struct {
	ID, Kind, AuthorKind, Author, Body, Class string
}

func dashMessages(tb *tab) []dashMessage {
	tb.t.Helper()
	return eval[[]dashMessage](tb, `Array.from(document.querySelectorAll('[data-testid="message"]')).map((m) => ({
		ID: m.dataset.id, Kind: m.dataset.kind, AuthorKind: m.dataset.authorKind, Class: m.className,
		Author: (m.querySelector('[data-testid="author"]') || {}).textContent || '',
		Body: (m.querySelector('.msg-body, .event-body') || {}).textContent || '' }))`)
}

// sendReply clicks a button of the reply box and waits for the page the
// dashboard loads once the message is stored (the page before it may show
// the message already, from the live connection).
func sendReply(tb *tab, button string, more ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	eval[bool](tb, `(window.__beforeSend = true)`)
	tb.do("send", append(more, chromedp.Click(chromedp.CSS(`[data-testid="`+button+`"]`)))...)
	tb.waitFor("the page after sending", `!window.__beforeSend && document.readyState === 'complete'`, 10*time.Second)
}
