package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// writePicture writes a 96×96 PNG (a blue disc on orange) to dir.
func writePicture(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for x := 0; x < 96; x++ {
		for y := 0; y < 96; y++ {
			c := color.RGBA{240, 140, 40, 255}
			if (x-48)*(x-48)+(y-48)*(y-48) < 30*30 {
				c = color.RGBA{30, 80, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ada.png")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// loadedPicture is true when the element el (a widget expression) holds a
// loaded picture of Ada Lovelace.
func loadedPicture(el string) string {
	return `(() => { const i = ` + el + ` && (` + el + `).querySelector('img');
		return !!i && i.alt === 'Ada Lovelace' && i.complete && i.naturalWidth === 96; })()`
}

// An agent uploads a picture in Settings → Your account; a visitor sees it
// in the widget's header and beside the agent's reply, and the initials
// again when the picture cannot be loaded. When every agent is away, the
// contact form speaks the workspace's away note. Pages pass axe.
func TestAgentPictureInWidget(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []viewport{phone, desktop} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			ada := srv.AddAgent("ada@example.com", "Ada Lovelace")
			const away = "Back at 9 tomorrow: tell us where to write to you."
			srv.Do("PUT", "/api/v1/settings", ada.Token, map[string]any{"widget": map[string]string{"away_message": away}}, http.StatusOK, nil)

			agent := newTab(t, "agent")
			agent.setViewport(v)
			loginDashboard(agent, srv.URL, "ada@example.com")
			agent.navigate(srv.URL + "/dashboard/settings/account")
			agent.waitFor("the initials before any picture", `document.querySelector('[data-testid="account-avatar"] [data-testid="avatar-initials"]').textContent === 'AL'`, 10*time.Second)
			agent.do("choose a picture", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="avatar-file"]`), []string{writePicture(t, dir)}))
			agent.waitFor("the picture saved", `(() => { const n = document.querySelector('[data-testid="account-notice"]');
				const i = document.querySelector('[data-testid="account-avatar"] img');
				return n && n.textContent === 'Picture saved.' && i && i.complete && i.naturalWidth === 96; })()`, 10*time.Second)
			waitLive(agent)
			checkAxe(agent, v.name+" account with a picture")
			if n := count(t, srv, `SELECT COUNT(*) FROM agent_avatars`); n != 1 {
				t.Fatalf("%d pictures stored, want 1", n)
			}
			// A file that is no picture: refused, said as a sentence, and
			// the "Picture saved." of the one before gone.
			agent.do("choose a PDF", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="avatar-file"]`), []string{writePDF(t, dir, "invoice.pdf")}))
			agent.waitFor("the refusal alone", `(() => { const e = document.querySelector('[data-testid="avatar-error"]');
				return e && !e.hidden && /^[A-Z]/.test(e.textContent) && !document.querySelector('[data-testid="account-notice"]'); })()`, 10*time.Second)
			srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "online"}, http.StatusOK, nil)

			visitor := newTab(t, "visitor")
			visitor.setViewport(v)
			openWidget(visitor, srv.URL+"/demo")
			skipOptionalForm(visitor)
			typeInWidget(visitor, "Can the analytical engine weave flowers?")
			visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
			_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))
			srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", ada.Token, map[string]string{"body": "As Jacquard looms weave flowers and leaves.", "kind": "reply"}, http.StatusCreated, nil)
			visitor.waitFor("the picture beside the reply and in the header", inWidget(
				`(() => { const m = $$('message').find((m) => m.getAttribute('data-author-kind') === 'agent'); return m && `+
					loadedPicture(`m.querySelector('.av')`)+` && `+loadedPicture(`$('header-avatar')`)+` && !$('header-avatar').hidden; })()`), 10*time.Second)
			shot(visitor, dir, "widget-avatar-"+v.name)
			checkAxe(visitor, v.name+" widget with an agent's picture")

			// The dashboard's conversation shows the picture beside the reply.
			agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
			waitLive(agent)
			agent.waitFor("the picture beside the reply in the dashboard", `(() => { const i = document.querySelector('[data-author-kind="agent"] img[data-testid="avatar"]');
				return i && i.complete && i.naturalWidth === 96; })()`, 10*time.Second)
			shot(agent, dir, "dashboard-avatar-"+v.name)
			checkAxe(agent, v.name+" dashboard conversation with a picture")

			// A picture that does not load (the browser keeps the one it
			// loaded: this one was never stored): the initials show instead.
			if _, err := srv.App.DB.SQL.Exec(`UPDATE agents SET avatar_id = 'gone'`); err != nil {
				t.Fatal(err)
			}
			openWidget(visitor, srv.URL+"/demo")
			visitor.waitFor("the initials instead of a broken picture", inWidget(
				`(() => { const m = $$('message').find((m) => m.getAttribute('data-author-kind') === 'agent');
				return m && m.querySelector('.av').textContent === 'AL' && !m.querySelector('.av img') && $('header-avatar').textContent === 'AL'; })()`), 10*time.Second)

			// Every agent away, a new visitor must leave an address: the
			// form says the workspace's away note, not Parley's words.
			srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
			other := newTab(t, "other visitor")
			other.setViewport(v)
			openWidget(other, srv.URL+"/demo")
			other.waitFor("the contact form with the away note", inWidget(`!$('contact-form').hidden && $('contact-intro').textContent === `+js(away)), 10*time.Second)
			shot(other, dir, "widget-away-form-"+v.name)
			checkAxe(other, v.name+" widget contact form with the away note")
		})
	}
}
