package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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

// Sites with a Content-Security-Policy. One that lists Parley as the
// README says (no 'unsafe-inline' for styles), one that enforces Trusted
// Types with the widget's policy, one that only reports, one that names
// Trusted Types policies without enforcing them, and one that serves
// Parley on its own origin and refuses something of its own: a widget
// styled, connected and chatting, and no line of Parley's in the console.
// One that leaves out the WebSocket: a widget that says it is connecting
// (Chromium ends such a WebSocket with an error and no close); that and
// one enforcing Trusted Types without the widget's policy: a console line
// saying what to add.
func TestWidgetUnderAContentSecurityPolicy(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	origin := srv.URL
	wsOrigin := "ws" + strings.TrimPrefix(origin, "http")
	parley, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	const chat, connecting, nothing = "a chat", "connecting", "no widget"
	tests := []struct {
		name, header, policy string
		proxied              bool   // Parley served on the site's own origin
		refuses              string // what the policy refuses, of the page's own or by design
		want                 string
	}{
		{"listing Parley", "Content-Security-Policy", "default-src 'self'; script-src 'self' " + origin + "; connect-src 'self' " + origin + " " + wsOrigin + "; img-src 'self' " + origin + "; style-src 'self'", false, "", chat},
		{"enforcing Trusted Types", "Content-Security-Policy", "require-trusted-types-for 'script'; trusted-types parley-widget", false, "", chat},
		{"reporting only", "Content-Security-Policy-Report-Only", "connect-src 'self'; img-src 'self'", false, "", chat},
		{"naming Trusted Types policies only", "Content-Security-Policy", "trusted-types other", false, "trusted-types", chat},
		{"refusing a frame of its own", "Content-Security-Policy", "frame-src 'none'", true, "frame-src", chat},
		{"without its WebSocket", "Content-Security-Policy", "connect-src " + origin, false, "", connecting},
		{"without its Trusted Types policy", "Content-Security-Policy", "require-trusted-types-for 'script'; trusted-types other", false, "", nothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toParley := httputil.NewSingleHostReverseProxy(parley)
			site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.proxied && r.URL.Path != "/" {
					toParley.ServeHTTP(w, r)
					return
				}
				src := srv.URL + "/widget.js"
				if tt.proxied {
					src = "/widget.js"
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set(tt.header, tt.policy)
				fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Teapots</h1>
<script src="%s" data-site-key="%s" async></script></body></html>`, html.EscapeString(src), html.EscapeString(srv.Workspace.SiteKey))
			}))
			defer site.Close()
			visitor := newTab(t, "visitor")
			ctx, cancel := context.WithTimeout(visitor.ctx, 20*time.Second)
			defer cancel()
			const watch = `(() => { window.__refused = []; window.__warned = [];
				document.addEventListener('securitypolicyviolation', (e) => { if (e.disposition === 'enforce') window.__refused.push(e.effectiveDirective + ' ' + e.blockedURI); });
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
			if tt.proxied { // the page refuses something of its own
				eval[bool](visitor, `(document.body.appendChild(Object.assign(document.createElement('iframe'), { src: '/embed' })), true)`)
			}
			visitor.waitFor("the header online", inWidget(`$('status').textContent === 'online'`), 10*time.Second)
			skipOptionalForm(visitor)
			typeInWidget(visitor, "Do you ship to Oslo?")
			visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
			_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
			srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "We do.", "kind": "reply"}, http.StatusCreated, nil)
			visitor.waitFor("the reply", inWidget(`$$('message').some((m) => m.textContent.includes('We do.'))`), 10*time.Second)
			for _, r := range eval[[]string](visitor, `window.__refused`) {
				if tt.refuses == "" || !strings.HasPrefix(r, tt.refuses) {
					t.Errorf("the page's policy refused %q", r)
				}
			}
			if warned := eval[[]string](visitor, `window.__warned.filter((w) => w.startsWith('Parley:'))`); len(warned) > 0 {
				t.Errorf("the console says %q", warned)
			}
			if tt.name == "listing Parley" {
				visitor.screenshot("laptop-widget-under-a-content-security-policy")
			}
		})
	}
}
