package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
)

// A visitor who goes to another page leaves, even when the browser keeps
// the page in its back/forward cache (where its connection would stay
// open), and is online again when they come back to it with Back.
func TestLeavingThroughBackForwardCache(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	fillContactForm(visitor, "Vera", "vera@example.com") // nobody online: the form comes first
	typeInWidget(visitor, "Is this in stock?")
	visitor.waitFor("the widget to confirm the message", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
	token := eval[string](visitor, `window.Parley.visitorToken()`)
	online := func() bool {
		v, err := srv.App.Chat.VisitorByToken(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		return v.Online
	}
	apptest.Eventually(t, 10*time.Second, "the visitor online", online)
	eval[bool](visitor, `(window.__cached = false, addEventListener('pageshow', (e) => { window.__cached = e.persisted; }), true)`)

	visitor.navigate(srv.URL + "/healthz")
	apptest.Eventually(t, 10*time.Second, "the visitor to have left", func() bool { return !online() })

	// chromedp.NavigateBack waits for a load, which a page restored from
	// the cache does not fire.
	eval[bool](visitor, `(history.back(), true)`)
	visitor.waitFor("the page", `location.pathname === '/demo' && document.readyState === 'complete'`, 10*time.Second)
	if !eval[bool](visitor, `window.__cached === true`) {
		t.Log("the browser did not keep the page in its back/forward cache: only the leave was checked")
		return
	}
	apptest.Eventually(t, 10*time.Second, "the visitor online again", online)
	visitor.waitFor("the conversation still in the widget", inWidget(`$$('message').some((m) => m.textContent.includes('Is this in stock?'))`), 10*time.Second)
}

// Cut off from the server, the widget's header does not say anybody is
// online; back, it does again.
func TestWidgetHeaderWhileReconnecting(t *testing.T) {
	env := map[string]string{"PARLEY_HTTP_ADDR": apptest.FreeAddr(t), "PARLEY_AGENT_AWAY_AFTER": "1m",
		"PARLEY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "parley.db")}
	srv := apptest.Start(t, env)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the header online", inWidget(`$('status').textContent === 'online'`), 10*time.Second)
	srv.Stop()
	visitor.waitFor("the header to stop saying online", inWidget(`$('status').textContent !== 'online' && !$('status').closest('.on')`), 10*time.Second)
	apptest.Start(t, env)
	eval[bool](visitor, `(window.dispatchEvent(new Event('online')), true)`)
	visitor.waitFor("the header online again", inWidget(`$('status').textContent === 'online'`), 10*time.Second)
}

// A widget whose WebSocket never opens (a proxy that refuses WebSockets,
// a server restarting) says it is connecting instead of showing the
// agents online, whose replies could not reach it; connected, it does.
func TestWidgetHeaderBeforeItsFirstConnection(t *testing.T) {
	srv, _ := startWithAgentOnline(t)
	visitor := newTab(t, "visitor")
	ctx, cancel := context.WithTimeout(visitor.ctx, 20*time.Second)
	defer cancel()
	const refused = `(() => { const Real = window.WebSocket; window.__refuse = true;
		window.WebSocket = function (url, protocols) {
			if (!window.__refuse) return new Real(url, protocols);
			const s = { readyState: 0, send() { throw new Error('not open'); }, close() {} };
			setTimeout(() => { s.readyState = 3; if (s.onclose) s.onclose({ code: 1006 }); }, 10);
			return s;
		}; })()`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: refused}); err != nil {
		t.Fatalf("refuse the WebSockets: %v", err)
	}
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the header to say it is connecting", inWidget(`$('status').textContent === 'Connecting\u2026' && !$('connection').hidden`), 10*time.Second)
	if eval[bool](visitor, inWidget(`!!$('status').closest('.on')`)) {
		t.Error("the widget is marked online without a connection")
	}
	visitor.screenshot("laptop-widget-connecting")
	eval[bool](visitor, `(window.__refuse = false, window.dispatchEvent(new Event('online')), true)`)
	visitor.waitFor("the header online", inWidget(`$('status').textContent === 'online' && $('connection').hidden`), 10*time.Second)
}

// Sites with a Content-Security-Policy: one that lists Parley as the
// README says (no 'unsafe-inline' for styles), and one that enforces
// Trusted Types with the widget's policy, get a widget styled, connected
// and chatting, and nothing refused; one that leaves out the WebSocket
// gets a widget that says it is connecting (Chromium ends such a
// WebSocket with an error and no close); that and one without the
// widget's Trusted Types policy get a console line saying what to add.
func TestWidgetUnderAContentSecurityPolicy(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	origin := srv.URL
	wsOrigin := "ws" + strings.TrimPrefix(origin, "http")
	const chat, connecting, nothing = "a chat", "connecting", "no widget"
	tests := []struct {
		name, policy, want string
	}{
		{"listing Parley", "default-src 'self'; script-src 'self' " + origin + "; connect-src 'self' " + origin + " " + wsOrigin + "; img-src 'self' " + origin + "; style-src 'self'", chat},
		{"enforcing Trusted Types", "require-trusted-types-for 'script'; trusted-types parley-widget", chat},
		{"without its WebSocket", "connect-src " + origin, connecting},
		{"without its Trusted Types policy", "require-trusted-types-for 'script'; trusted-types other", nothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Content-Security-Policy", tt.policy)
				fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Teapots</h1>
<script src="%s" data-site-key="%s" async></script></body></html>`, html.EscapeString(srv.URL+"/widget.js"), html.EscapeString(srv.Workspace.SiteKey))
			}))
			defer site.Close()
			visitor := newTab(t, "visitor")
			ctx, cancel := context.WithTimeout(visitor.ctx, 20*time.Second)
			defer cancel()
			const watch = `(() => { window.__refused = []; window.__warned = [];
				document.addEventListener('securitypolicyviolation', (e) => window.__refused.push(e.effectiveDirective + ' ' + e.blockedURI));
				const warn = console.warn; console.warn = function (...a) { window.__warned.push(a.join(' ')); return warn.apply(this, a); }; })()`
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch}); err != nil {
				t.Fatalf("watch the page: %v", err)
			}
			if tt.want == nothing {
				visitor.navigate(site.URL)
				visitor.waitFor("the console to say what to add", `window.__warned.some((w) => w.includes('trusted-types'))`, 10*time.Second)
				return
			}
			openWidget(visitor, site.URL)
			if !eval[bool](visitor, inWidget(`getComputedStyle($('launcher')).position === 'fixed' && getComputedStyle($('launcher')).borderRadius === '50%'`)) {
				t.Error("the widget is not styled")
			}
			if tt.want == connecting {
				visitor.waitFor("the header to say it is connecting", inWidget(`$('status').textContent === 'Connecting\u2026' && !$('connection').hidden`), 10*time.Second)
				visitor.waitFor("the console to say what to add", `window.__warned.some((w) => w.includes('connect-src') && w.includes(`+js(wsOrigin)+`))`, 10*time.Second)
				return
			}
			visitor.waitFor("the header online", inWidget(`$('status').textContent === 'online'`), 10*time.Second)
			skipOptionalForm(visitor)
			typeInWidget(visitor, "Do you ship to Oslo?")
			visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
			_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
			srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "We do.", "kind": "reply"}, http.StatusCreated, nil)
			visitor.waitFor("the reply", inWidget(`$$('message').some((m) => m.textContent.includes('We do.'))`), 10*time.Second)
			if refused := eval[[]string](visitor, `window.__refused`); len(refused) > 0 {
				t.Errorf("the page's policy refused %q", refused)
			}
			visitor.screenshot("laptop-widget-under-a-content-security-policy")
		})
	}
}
