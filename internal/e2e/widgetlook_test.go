package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
)

// shot saves the viewport as name.png under $PARLEY_SCREENSHOTS when set,
// else under the test's temporary directory, and logs where.
func shot(tb *tab, dir, name string) {
	tb.t.Helper()
	if d := os.Getenv("PARLEY_SCREENSHOTS"); d != "" {
		dir = d
	}
	file := tb.saveScreenshot(dir, name)
	tb.t.Logf("screenshot: %s", file)
}

// speakFrench makes the tab's browser French (navigator.language and
// Accept-Language) in Paris.
func speakFrench(tb *tab) {
	tb.t.Helper()
	ua := eval[string](tb, `navigator.userAgent`)
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "fr-FR"}); err != nil {
		tb.t.Fatalf("speak French: %v", err)
	}
	inTimeZone(tb, "Europe/Paris")
}

// inTimeZone puts the tab's browser in a time zone (IANA name).
func inTimeZone(tb *tab, zone string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		tb.t.Fatalf("be in %s: %v", zone, err)
	}
}

// A French visitor sees the widget in French, in the workspace's colour
// (a light yellow, so dark text), on the left, with the French greeting
// while an agent is online and only the away note once every agent is
// away; the pages pass axe's WCAG rules in both states.
func TestWidgetInFrenchWithBrandLook(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []viewport{phone, desktop} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t, "PARLEY_AGENT_AWAY_AFTER", "5m")
			admin := srv.AddAgent("ada@example.com", "Ada")
			const greeting = "Bonjour\u00a0! Une question sur nos théières\u00a0? Écrivez-nous."
			const away = "Nous sommes partis cueillir le thé. Laissez-nous un message."
			srv.Do("PUT", "/api/v1/settings", admin.Token, map[string]any{
				"widget":         map[string]string{"color": "#FFD400", "position": "left", "greeting": greeting, "away_message": away},
				"default_locale": "en",
				// No form while away, so the away note shows over the composer.
				"contact_form": map[string]any{"offline_requires_form": false, "online": "optional"},
			}, http.StatusOK, nil)
			srv.Do("PUT", "/api/v1/me/status", admin.Token, map[string]string{"status": "online"}, http.StatusOK, nil)

			visitor := newTab(t, "visitor")
			visitor.setViewport(v)
			speakFrench(visitor)
			visitor.navigate(srv.URL + "/demo")
			visitor.waitFor("the launcher on the left in the brand colour", inWidget(`(() => {
				const l = $('launcher'); if (!l) return false;
				const cs = getComputedStyle(l);
				return l.getBoundingClientRect().left < 40 && cs.backgroundColor === 'rgb(255, 212, 0)' && cs.color === 'rgb(31, 41, 55)';
			})()`), 10*time.Second)
			if n := count(t, srv, `SELECT COUNT(*) FROM visitors`); n != 0 {
				t.Errorf("%d visitors stored before the chat was opened", n)
			}
			if got := eval[string](visitor, inWidget(`$('launcher').getAttribute('aria-label')`)); got != "Ouvrir le chat" {
				t.Errorf("launcher label %q", got)
			}

			openWidget(visitor, srv.URL+"/demo")
			skipOptionalForm(visitor)
			visitor.waitFor("the French greeting while online", inWidget(`$('status').textContent === 'en ligne' && $('messages').getAttribute('data-greeting') === `+js(greeting)+` && $('note').hidden`), 10*time.Second)
			for sel, want := range map[string]string{
				`$('input').placeholder`:                            "Écrivez votre message…",
				`$('send').getAttribute('aria-label')`:              "Envoyer le message",
				`$('close').getAttribute('aria-label')`:             "Fermer le chat",
				`$('window').getAttribute('aria-label')`:            "Discuter avec Default",
				`sr.querySelector('.root').lang`:                    "fr",
				`getComputedStyle($('send')).color`:                 "rgb(31, 41, 55)",
				`getComputedStyle(sr.querySelector('.head')).color`: "rgb(31, 41, 55)",
			} {
				if got := eval[string](visitor, inWidget(sel)); got != want {
					t.Errorf("%s = %q, want %q", sel, got, want)
				}
			}
			if got := eval[float64](visitor, inWidget(`$('window').getBoundingClientRect().left`)); got > 40 {
				t.Errorf("the window starts at x=%v, want the left side", got)
			}
			shot(visitor, dir, "widget-fr-online-"+v.name)
			checkAxe(visitor, v.name+" French widget online")

			typeInWidget(visitor, "Bonjour, la théière Matin passe-t-elle au lave-vaisselle ?")
			visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
			if got := widgetMessages(visitor)[0].Author; got != "Vous" {
				t.Errorf("the visitor's own messages are signed %q", got)
			}
			if n := count(t, srv, `SELECT COUNT(*) FROM visitors WHERE language = 'fr' AND time_zone = 'Europe/Paris'`); n != 1 {
				t.Errorf("%d visitors stored as French in Paris, want 1", n)
			}

			// The agent's reply carries their initials, and so does the header.
			_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
			srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", admin.Token, map[string]string{"body": "Oui, bien sûr.", "kind": "reply"}, http.StatusCreated, nil)
			visitor.waitFor("the reply with initials", inWidget(`$$('message').some((m) => m.textContent.includes('Oui, bien sûr.') && m.querySelector('.av').textContent === 'A') && $('header-avatar').textContent === 'A' && !$('header-avatar').hidden`), 10*time.Second)

			// Every agent goes away: the away note replaces the greeting.
			srv.Do("PUT", "/api/v1/me/status", admin.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
			visitor.waitFor("the away note", inWidget(`$('status').textContent === 'absent' && !$('note').hidden && $('note').textContent.startsWith(`+js(away)+`) && $('messages').getAttribute('data-greeting') === ''`), 10*time.Second)
			shot(visitor, dir, "widget-fr-away-"+v.name)
			checkAxe(visitor, v.name+" French widget away")
		})
	}
}

// A visitor back on a later day (from an email, say) sees the date of the
// earlier messages beside their time, in their language; today's show
// the time alone.
func TestWidgetDatesEarlierDays(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	srv.DialAgent(a.Token)

	visitor := newTab(t, "visitor")
	visitor.setViewport(phone)
	speakFrench(visitor)
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Bonjour")
	visitor.waitFor("the message with its time", inWidget(`$$('message').length === 1 && /\d/.test($$('message')[0].querySelector('time').textContent)`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$$('message')[0].querySelector('time').textContent`)); !regexp.MustCompile(`^\d{1,2}:\d\d$`).MatchString(got) {
		t.Errorf("today's message shows %q, want its time alone", got)
	}

	// Three days later: the page's clock moves on, the visitor comes back.
	const later = `(() => { const R = Date, shift = 3 * 864e5;
		class Later extends R { constructor(...a) { if (a.length) super(...a); else super(R.now() + shift); } static now() { return R.now() + shift; } }
		window.Date = Later; })()`
	ctx, cancel := context.WithTimeout(visitor.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: later}); err != nil {
		t.Fatalf("move the clock: %v", err)
	}
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the history", inWidget(`$$('message').length === 1`), 10*time.Second)
	got := eval[string](visitor, inWidget(`$$('message')[0].querySelector('time').textContent`))
	// French: "3 déc. 14:05".
	if !regexp.MustCompile(`^\d{1,2} \p{L}+\.? \d{1,2}:\d\d$`).MatchString(got) {
		t.Errorf("an earlier day's message shows %q, want its day, month and time", got)
	}
	visitor.screenshot("widget earlier day 390x844")
}

// A page with a site key Parley does not know shows no launcher: the
// look's answer says so, and the widget goes away before anyone clicks.
func TestWidgetUnknownSiteKey(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	visitor.setViewport(phone)
	visitor.navigate(srv.URL + "/demo?site_key=no-such-site")
	visitor.waitFor("the look asked for and the widget gone", `performance.getEntriesByType('resource').some((e) => e.name.includes('/api/widget/v1/look?'))
		&& document.readyState === 'complete' && !document.querySelector('#parley-widget')`, 10*time.Second)
	if n := count(t, srv, `SELECT COUNT(*) FROM visitors`); n != 0 {
		t.Errorf("%d visitors stored for an unknown site", n)
	}
}

// A message over the widget's limit is refused with the reason, which the
// character counter above the reply box leaves readable, on a phone and
// on a laptop.
func TestWidgetOverlongMessageReadable(t *testing.T) {
	// Ada online for the whole test: the two tabs take longer than the
	// two seconds an agent without a dashboard stays present by default.
	srv, _ := startWithAgentOnline(t)
	for _, v := range []viewport{phone, desktop} {
		t.Run(v.name, func(t *testing.T) {
			visitor := newTab(t, "visitor")
			visitor.setViewport(v)
			openWidget(visitor, srv.URL+"/demo")
			skipOptionalForm(visitor)
			fillWidgetInput(visitor, strings.Repeat("x", 10050))
			visitor.do("send", chromedp.KeyEvent("\r"))
			visitor.waitFor("the reason and the counter", inWidget(`!!$('error') && !$('counter').hidden`), 10*time.Second)
			if counterCovers(visitor, "error") {
				t.Error("the counter covers the reason")
			}
			shot(visitor, t.TempDir(), v.name+"-widget-overlong")
		})
	}
}

// The widget writes a message's time as the visitor's region does: an
// American browser "2:05 PM" (a French one "14:05", above).
func TestWidgetTimeByRegion(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	visitor := newTab(t, "visitor")
	visitor.setViewport(phone)
	if lang := eval[string](visitor, `navigator.language`); lang != "en-US" {
		t.Skipf("the browser speaks %s, not en-US", lang)
	}
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Hello")
	visitor.waitFor("the message with its time", inWidget(`$$('message').length === 1 && /\d/.test($$('message')[0].querySelector('time').textContent)`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$$('message')[0].querySelector('time').textContent`)); !regexp.MustCompile(`^\d{1,2}:\d\d[\s\x{202f}]?[AP]M$`).MatchString(got) {
		t.Errorf("the message's time %q, want h:mm AM/PM", got)
	}
}

// With every agent away, the away note above the reply box stays readable
// under the character counter; and a message in a right-to-left script is
// typed right to left.
func TestWidgetAwayNoteAndDirection(t *testing.T) {
	srv := startParley(t)
	admin := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/settings", admin.Token, map[string]any{"contact_form": map[string]any{"offline_requires_form": false, "online": "optional"}}, http.StatusOK, nil)
	srv.Do("PUT", "/api/v1/me/status", admin.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	visitor := newTab(t, "visitor")
	visitor.setViewport(phone)
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	visitor.waitFor("the away note", inWidget(`!$('note').hidden && $('note').textContent.length > 0`), 10*time.Second)
	fillWidgetInput(visitor, strings.Repeat("x", 10001))
	visitor.waitFor("the counter", inWidget(`!$('counter').hidden`), 10*time.Second)
	if counterCovers(visitor, "note") {
		t.Error("the counter covers the away note")
	}
	fillWidgetInput(visitor, "مرحبا، أين طلبي؟")
	if d := eval[string](visitor, inWidget(`getComputedStyle($('input')).direction + ' ' + getComputedStyle($('input')).textAlign`)); d != "rtl start" {
		t.Errorf("Arabic is typed %s", d)
	}
	// Sent, it reads from the right too: its lines are aligned on the
	// right, not ragged there.
	eval[bool](visitor, inWidget(`($('send').click(), true)`))
	visitor.waitFor("the Arabic message", inWidget(`$$('body').some((b) => b.textContent.includes('مرحبا'))`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`(() => { const b = $$('body').find((b) => b.textContent.includes('مرحبا')); const st = getComputedStyle(b); return st.direction + ' ' + st.textAlign; })()`)); got != "rtl start" {
		t.Errorf("the Arabic message: %s, want rtl start", got)
	}
	// Once the address is known (an agent sets it), the note says where
	// the answer goes.
	v, err := srv.App.Chat.VisitorByToken(t.Context(), eval[string](visitor, `window.Parley.visitorToken()`))
	if err != nil {
		t.Fatal(err)
	}
	srv.Do("PATCH", "/api/v1/visitors/"+v.ID, admin.Token, map[string]string{"email": "vera@example.com"}, http.StatusOK, nil)
	visitor.waitFor("the note with the address, and a way to change it", inWidget(`$('note').textContent.includes('If you leave, our answer goes to vera@example.com.') && !!$('note').querySelector('[data-parley="email-change"]')`), 10*time.Second)
	checkAxe(visitor, "widget away note with the address")
}

// The launcher counts unread replies in the visitor's language, singular
// and plural: "1 non lu", "2 non lus".
func TestWidgetUnreadLabelInFrench(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	visitor := newTab(t, "visitor")
	speakFrench(visitor)
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Bonjour")
	visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
	_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
	eval[bool](visitor, inWidget(`($('close').click(), true)`))
	visitor.waitFor("the window closed", inWidget(`$('window').hidden`), 5*time.Second)
	for i, want := range []string{"Ouvrir le chat, 1 non lu", "Ouvrir le chat, 2 non lus"} {
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Réponse " + strconv.Itoa(i+1), "kind": "reply"}, http.StatusCreated, nil)
		visitor.waitFor("the launcher saying "+want, inWidget(`$('launcher').getAttribute('aria-label') === `+js(want)), 10*time.Second)
	}
}

// fillWidgetInput puts text in the widget's box as typing it would: the
// box focused, then an input event.
func fillWidgetInput(tb *tab, text string) {
	tb.t.Helper()
	eval[bool](tb, inWidget(`(($) => { const i = $('input'); i.focus(); i.value = `+js(text)+`; i.dispatchEvent(new Event('input')); return true; })($)`))
}

// counterCovers reports whether the widget's character counter lies over
// any line of the text of the element name (data-parley).
func counterCovers(tb *tab, name string) bool {
	tb.t.Helper()
	return eval[bool](tb, inWidget(`(() => {
		const c = $('counter').getBoundingClientRect();
		const r = document.createRange(); r.selectNodeContents($(`+js(name)+`));
		return [...r.getClientRects()].some((t) => t.left < c.right && c.left < t.right && t.top < c.bottom && c.top < t.bottom);
	})()`))
}

// The widget keeps its newest message in view when the space under the
// messages grows: a draft of several lines, the form that asks for an
// address once every agent is away.
func TestWidgetNewestInViewWhenTheBottomGrows(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	dash := srv.DialAgent(a.Token)
	visitor := newTab(t, "visitor")
	visitor.setViewport(desktop)
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	for i := range 6 {
		typeInWidget(visitor, fmt.Sprintf("Question number %d: the order I placed last week has not arrived, the tracking page says nothing since Monday, and I would like to know where it is.", i))
	}
	visitor.waitFor("the messages confirmed", inWidget(`$$('message').filter((m) => m.getAttribute('data-id')).length === 6`), 10*time.Second)
	newest := inWidget(`(() => { const l = $('messages'), m = $$('message').pop(), a = l.getBoundingClientRect(), b = m.getBoundingClientRect();
		return l.scrollHeight > l.clientHeight && b.bottom <= a.bottom + 1 && b.top >= a.top; })()`)
	visitor.waitFor("the newest message in view", newest, 5*time.Second)

	eval[bool](visitor, inWidget(`(() => { const i = $('input'); i.value = 'One\nTwo\nThree\nFour\nFive'; i.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`))
	visitor.waitFor("the newest message in view above a draft of five lines", newest, 5*time.Second)
	eval[bool](visitor, inWidget(`(() => { const i = $('input'); i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`))
	// Scrolled up to read an earlier message: left there.
	eval[bool](visitor, inWidget(`($('messages').scrollTop = 0, true)`))
	time.Sleep(300 * time.Millisecond)
	eval[bool](visitor, inWidget(`(() => { const i = $('input'); i.value = 'One\nTwo\nThree'; i.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`))
	time.Sleep(300 * time.Millisecond)
	if top := eval[float64](visitor, inWidget(`$('messages').scrollTop`)); top != 0 {
		t.Errorf("a visitor reading earlier messages was taken to the end (scrolled to %v)", top)
	}
	eval[bool](visitor, inWidget(`(() => { const i = $('input'); i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true })); const l = $('messages'); l.scrollTop = l.scrollHeight; return true; })()`))
	time.Sleep(300 * time.Millisecond)

	dash.Close()
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	visitor.waitFor("the form asking for an address", inWidget(`!$('contact-form').hidden`), 10*time.Second)
	visitor.waitFor("the newest message in view above the form", newest, 5*time.Second)
	visitor.screenshot("widget away form under the messages")
}

// A long workspace name and a long greeting, both allowed: the dashboard's
// header stays on one row at desktop width (the name shortened, whole in
// its title), and the widget's preview in Settings shows the whole window.
func TestLongWorkspaceNameAndGreeting(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	name := strings.Repeat("Kettle and Teapot Company ", 3)[:69]
	srv.Do("PUT", "/api/v1/settings", ada.Token, map[string]any{"workspace_name": name,
		"widget": map[string]string{"greeting": strings.Repeat("Hello there, we answer within minutes during opening hours. ", 3)[:170]}}, http.StatusOK, nil)
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	if h := eval[float64](a, `document.querySelector('.topbar').offsetHeight`); h > 60 {
		t.Errorf("the header is %v px high: on two rows", h)
	}
	if got := eval[string](a, `document.querySelector('.topbar .workspace').title`); got != name {
		t.Errorf("the shortened name's title is %q", got)
	}
	a.navigate(srv.URL + "/dashboard/settings")
	for _, side := range []string{"right", "left"} {
		eval[bool](a, `(document.querySelector('input[name="widget_position"][value="`+side+`"]').click(), true)`)
		if !eval[bool](a, `(() => { const f = document.querySelector('[data-testid="widget-preview"]').getBoundingClientRect(),
			w = document.querySelector('.look-preview .lp-win').getBoundingClientRect();
			return w.top >= f.top && w.bottom <= f.bottom && w.left >= f.left && w.right <= f.right; })()`) {
			t.Errorf("the preview (%s) cuts its window off", side)
		}
	}
}

// A reply that arrives while the visitor reads earlier messages is not
// read yet: a button says it is below (in the visitor's language), the
// reply stays unread for the agents (it would be emailed if the visitor
// left), and going down to it reads it.
func TestWidgetReplyBelowTheViewIsNotRead(t *testing.T) {
	for _, v := range []viewport{phone, desktop} {
		t.Run(v.name, func(t *testing.T) {
			srv, a := startWithAgentOnline(t)
			visitor := newTab(t, "visitor")
			visitor.setViewport(v)
			speakFrench(visitor)
			openWidget(visitor, srv.URL+"/demo")
			skipOptionalForm(visitor)
			for i := range 10 {
				typeInWidget(visitor, fmt.Sprintf("Question %d : ma commande de la semaine dernière n'est pas arrivée et le suivi ne dit rien depuis lundi.", i))
			}
			visitor.waitFor("the messages confirmed", inWidget(`$$('message').filter((m) => m.getAttribute('data-id')).length === 10`), 10*time.Second)
			tok := eval[string](visitor, `window.Parley.visitorToken()`)
			waitConversation(t, srv, tok)
			vis, err := srv.App.Chat.VisitorByToken(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			var conv string
			if err := srv.App.DB.SQL.QueryRow(`SELECT id FROM conversations WHERE visitor_id = ?`, vis.ID).Scan(&conv); err != nil {
				t.Fatal(err)
			}
			reply := func(body string) string {
				var m struct {
					ID string `json:"id"`
				}
				srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", a.Token, map[string]string{"body": body}, http.StatusCreated, &m)
				return m.ID
			}
			readAt := func(id string) bool {
				var out struct {
					Messages []struct {
						ID              string  `json:"id"`
						ReadByVisitorAt *string `json:"read_by_visitor_at"`
					} `json:"messages"`
				}
				srv.Do("GET", "/api/v1/conversations/"+conv+"/messages", a.Token, nil, http.StatusOK, &out)
				for _, m := range out.Messages {
					if m.ID == id {
						return m.ReadByVisitorAt != nil
					}
				}
				t.Fatalf("no message %s", id)
				return false
			}
			// At the end of the list, a reply is read at once.
			first := reply("Bonjour, je regarde.")
			visitor.waitFor("the first reply shown", inWidget(`$$('message').length === 11`), 10*time.Second)
			apptest.Eventually(t, 10*time.Second, "the first reply read", func() bool { return readAt(first) })

			// Up to the first messages, well away from the end.
			up := func() {
				t.Helper()
				visitor.waitFor("the list scrolled up", inWidget(`(() => { const l = $('messages'); l.scrollTop = 0; return l.scrollHeight - l.clientHeight > 200; })()`), 5*time.Second)
				time.Sleep(300 * time.Millisecond)
			}
			up()
			second := reply("Votre colis est à Lyon, il arrive demain.")
			visitor.waitFor("the button", inWidget(`!$('new-below').hidden && $('new-below').textContent === 'Nouveaux messages plus bas'`), 10*time.Second)
			visitor.screenshot(v.name + " widget new messages below")
			checkAxe(visitor, "the widget with the new-messages button")
			time.Sleep(500 * time.Millisecond)
			if readAt(second) {
				t.Fatal("a reply below the view was marked read")
			}
			if top := eval[float64](visitor, inWidget(`$('messages').scrollTop`)); top != 0 {
				t.Errorf("the visitor reading earlier messages was moved (scrolled to %v)", top)
			}
			eval[bool](visitor, inWidget(`($('new-below').click(), true)`))
			visitor.waitFor("the button gone, the reply in view", inWidget(`$('new-below').hidden && (() => { const l = $('messages'); return l.scrollHeight - l.scrollTop - l.clientHeight < 2; })()`), 5*time.Second)
			apptest.Eventually(t, 10*time.Second, "the second reply read", func() bool { return readAt(second) })

			// Scrolling down by hand reads too.
			up()
			third := reply("Autre chose ?")
			visitor.waitFor("the button again", inWidget(`!$('new-below').hidden`), 10*time.Second)
			eval[bool](visitor, inWidget(`(() => { const l = $('messages'); l.scrollTop = l.scrollHeight; return true; })()`))
			visitor.waitFor("the button gone", inWidget(`$('new-below').hidden`), 5*time.Second)
			apptest.Eventually(t, 10*time.Second, "the third reply read", func() bool { return readAt(third) })
		})
	}
}
