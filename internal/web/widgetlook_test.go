package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

type widgetLook struct {
	Color       string `json:"color"`
	Position    string `json:"position"`
	Greeting    string `json:"greeting"`
	AwayMessage string `json:"away_message"`
}

type lookSession struct {
	VisitorToken string     `json:"visitor_token"`
	Locale       string     `json:"locale"`
	Widget       widgetLook `json:"widget"`
	Visitor      struct {
		ID string `json:"id"`
	} `json:"visitor"`
}

// requestIn sends a request with an Accept-Language header ("" for none)
// and returns the status and body.
func requestIn(t *testing.T, method, url string, body []byte, acceptLanguage string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// sessionIn starts a widget session with a locale, a time zone and an
// Accept-Language header.
func sessionIn(t *testing.T, s *apptest.Server, locale, tz, acceptLanguage string) lookSession {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"site_key": s.Workspace.SiteKey, "locale": locale, "time_zone": tz})
	code, raw := requestIn(t, "POST", s.URL+"/api/widget/v1/session", body, acceptLanguage)
	if code != http.StatusOK {
		t.Fatalf("session: %d %s", code, raw)
	}
	var out lookSession
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The widget settings are stored and served; bad values answer the
// contract's codes and change nothing.
func TestWidgetSettings(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ada@example.com", "Ada")
	var st model.Settings
	s.Do("GET", "/api/v1/settings", a.Token, nil, http.StatusOK, &st)
	if st.Widget.Color != "#2563eb" || st.Widget.Position != "right" || st.DefaultLocale != "en" || st.Widget.Greeting != "" {
		t.Fatalf("default widget settings: %+v %q", st.Widget, st.DefaultLocale)
	}
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{
		"widget":         map[string]string{"color": "#0A7C42", "position": "left", "greeting": "  Hallo!  ", "away_message": "Bis gleich."},
		"default_locale": "de",
	}, http.StatusOK, &st)
	want := model.WidgetLook{Color: "#0a7c42", Position: "left", Greeting: "Hallo!", AwayMessage: "Bis gleich."}
	if st.Widget != want || st.DefaultLocale != "de" {
		t.Fatalf("after PUT: %+v %q", st.Widget, st.DefaultLocale)
	}
	// A partial widget object changes only its fields.
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"widget": map[string]string{"position": "right"}}, http.StatusOK, &st)
	if want.Position = "right"; st.Widget != want {
		t.Fatalf("after a partial PUT: %+v", st.Widget)
	}

	for _, c := range []struct {
		name string
		body map[string]any
		code string
	}{
		{"named colour", map[string]any{"widget": map[string]string{"color": "green"}}, "invalid_color"},
		{"short colour", map[string]any{"widget": map[string]string{"color": "#0a0"}}, "invalid_color"},
		{"no hash", map[string]any{"widget": map[string]string{"color": "0a7c42"}}, "invalid_color"},
		{"css injection", map[string]any{"widget": map[string]string{"color": "#000;background:url(x)"}}, "invalid_color"},
		{"position", map[string]any{"widget": map[string]string{"position": "top"}}, "invalid_position"},
		{"locale", map[string]any{"default_locale": "ja"}, "invalid_locale"},
		{"locale tag", map[string]any{"default_locale": "fr-FR"}, "invalid_locale"},
		{"time zone", map[string]any{"time_zone": "Mars/Olympus"}, "invalid_time_zone"},
		{"long greeting", map[string]any{"widget": map[string]string{"greeting": strings.Repeat("é", 301)}}, "bad_request"},
		// A bad field refuses the whole update, good fields included.
		{"mixed", map[string]any{"default_locale": "it", "widget": map[string]string{"color": "#zzzzzz"}}, "invalid_color"},
	} {
		raw := s.Do("PUT", "/api/v1/settings", a.Token, c.body, http.StatusBadRequest, nil)
		if got := apptest.ErrorCode(raw); got != c.code {
			t.Errorf("%s: code %q, want %q", c.name, got, c.code)
		}
	}
	s.Do("GET", "/api/v1/settings", a.Token, nil, http.StatusOK, &st)
	if st.Widget != want || st.DefaultLocale != "de" || st.TimeZone != "UTC" {
		t.Fatalf("refused updates changed the settings: %+v %q %q", st.Widget, st.DefaultLocale, st.TimeZone)
	}

	// An agent (not an admin) may not change the look.
	b := s.AddAgent("bo@example.com", "Bo")
	raw := s.Do("PUT", "/api/v1/settings", b.Token, map[string]any{"widget": map[string]string{"color": "#000000"}}, http.StatusForbidden, nil)
	if apptest.ErrorCode(raw) != "forbidden" {
		t.Errorf("agent's update: %s", raw)
	}
}

// The session speaks the visitor's language as the contract picks it, and
// answers the widget's look with the default words in that language.
func TestSessionLanguage(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ada@example.com", "Ada")
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"default_locale": "nl", "widget": map[string]string{"color": "#112233"}}, http.StatusOK, nil)
	for _, c := range []struct {
		name, locale, tz, accept, want, wantZone string
	}{
		{"widget locale", "fr-CA", "America/Toronto", "de", "fr", "America/Toronto"},
		{"accept-language", "", "Europe/Berlin", "de-AT,de;q=0.9,en;q=0.5", "de", "Europe/Berlin"},
		{"unknown locale, known header", "ja-JP", "", "it-IT", "it", ""},
		{"nothing known: the workspace's default", "ja-JP", "", "ko", "nl", ""},
		{"garbage everywhere", "<script>", "../../etc/passwd", ";;;", "nl", ""},
		{"bad time zone is ignored", "pt-BR", "Mars/Olympus", "", "pt", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sess := sessionIn(t, s, c.locale, c.tz, c.accept)
			if sess.Locale != c.want {
				t.Errorf("locale %q, want %q", sess.Locale, c.want)
			}
			if sess.Widget.Color != "#112233" || sess.Widget.Position != "right" || sess.Widget.Greeting == "" || sess.Widget.AwayMessage == "" {
				t.Errorf("widget %+v", sess.Widget)
			}
			var lang, zone *string
			row := s.App.DB.SQL.QueryRow(`SELECT language, time_zone FROM visitors WHERE id = (SELECT id FROM visitors ORDER BY created_at DESC LIMIT 1)`)
			if err := row.Scan(&lang, &zone); err != nil {
				t.Fatal(err)
			}
			if lang == nil || *lang != c.want {
				t.Errorf("stored language %v, want %q", lang, c.want)
			}
			if got := ""; zone != nil {
				got = *zone
				if got != c.wantZone {
					t.Errorf("stored zone %q, want %q", got, c.wantZone)
				}
			} else if c.wantZone != "" {
				t.Errorf("no zone stored, want %q", c.wantZone)
			}
		})
	}
	// The default words follow the language; the workspace's own words win.
	fr := sessionIn(t, s, "fr", "", "")
	if !strings.Contains(fr.Widget.AwayMessage, "Laissez-nous un message") {
		t.Errorf("French away note %q", fr.Widget.AwayMessage)
	}
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"widget": map[string]string{"greeting": "Welkom bij ons!"}}, http.StatusOK, nil)
	if g := sessionIn(t, s, "fr", "", "").Widget.Greeting; g != "Welkom bij ons!" {
		t.Errorf("greeting %q, want the workspace's own", g)
	}
}

// The look of a site for a first-time visitor creates no visitor.
func TestWidgetLookCreatesNoVisitor(t *testing.T) {
	s := apptest.Start(t, nil)
	resp, err := http.Get(s.URL + "/api/widget/v1/look?site_key=" + s.Workspace.SiteKey + "&locale=es-MX")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var look struct {
		Locale string     `json:"locale"`
		Widget widgetLook `json:"widget"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&look); err != nil || resp.StatusCode != 200 {
		t.Fatalf("look: %s %v", resp.Status, err)
	}
	if look.Locale != "es" || look.Widget.Color != "#2563eb" || !strings.Contains(look.Widget.Greeting, "Escríbenos") {
		t.Errorf("look %+v", look)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("Cache-Control %q", cc)
	}
	var n int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM visitors`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d visitors after the look (%v)", n, err)
	}
	raw := s.Do("GET", "/api/widget/v1/look?site_key=nope", "", nil, http.StatusNotFound, nil)
	if apptest.ErrorCode(raw) != "unknown_site" {
		t.Errorf("unknown site: %s", raw)
	}
}

func getIn(t *testing.T, url, acceptLanguage string) (int, string) {
	t.Helper()
	code, b := requestIn(t, "GET", url, nil, acceptLanguage)
	return code, string(b)
}

// The pages a visitor opens from an email speak their language: the
// chat-link page the widget's, the others the browser's, else the
// workspace's default.
func TestVisitorPagesLanguage(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ada@example.com", "Ada")
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"default_locale": "it"}, http.StatusOK, nil)
	fr := sessionIn(t, s, "fr-FR", "Europe/Paris", "")

	var m model.Message
	s.Do("PATCH", "/api/v1/visitors/"+fr.Visitor.ID, a.Token, map[string]string{"email": "vera@example.org"}, http.StatusOK, nil)
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": fr.VisitorToken, "body": "Bonjour", "client_id": "c1"}, http.StatusCreated, &m)
	link := s.App.Chat.Signer().SignContinue(token.ContinueLink{WorkspaceID: s.Workspace.ID, VisitorID: fr.Visitor.ID,
		ConversationID: m.ConversationID, Expires: time.Now().Add(time.Hour)})

	// The widget spoke French: the chat link is French whatever the browser says.
	code, body := getIn(t, s.URL+"/chat/"+link, "de")
	for _, want := range []string{`<html lang="fr">`, "Votre conversation avec Default", `data-locale="fr"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("chat link: %d, lacks %q", code, want)
		}
	}
	for _, c := range []struct{ accept, lang, words string }{
		{"es-ES,es;q=0.9", "es", "Este enlace al chat no funciona"},
		{"ja", "en", "This chat link does not work"}, // no workspace known: English
	} {
		code, body := getIn(t, s.URL+"/chat/not-a-token", c.accept)
		if code != http.StatusNotFound || !strings.Contains(body, `<html lang="`+c.lang+`">`) || !strings.Contains(body, c.words) {
			t.Errorf("invalid chat link in %s: %d\n%s", c.accept, code, body)
		}
	}
	code, body = getIn(t, s.URL+"/unsubscribe/not-a-token", "nl-BE")
	if code != http.StatusNotFound || !strings.Contains(body, `<html lang="nl">`) || !strings.Contains(body, "Deze afmeldlink werkt niet") {
		t.Errorf("invalid unsubscribe link in Dutch: %d\n%s", code, body)
	}
}

// Settings → Widget saves the look and shows it in the preview; a bad
// colour is refused with the contract's words and nothing changes.
func TestDashboardWidgetSettings(t *testing.T) {
	s := apptest.Start(t, nil)
	s.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, s)
	b.login("ada@example.com")
	page := b.get("/dashboard/settings").Body
	mustContain(t, "settings", page, `data-testid="widget-preview"`, `--p:#2563eb;--on:#ffffff`, `<option value="fr">Français</option>`)

	a := b.post("/dashboard/settings", url.Values{"widget_color": {"#ffd400"}, "widget_position": {"left"},
		"widget_greeting": {"Bonjour <b>!</b>"}, "widget_away_message": {""}, "default_locale": {"fr"}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", a.Status, a.Body)
	}
	page = b.get("/dashboard/settings").Body
	mustContain(t, "saved settings", page, `--p:#ffd400;--on:#1f2328`, `look-preview left`, `Bonjour &lt;b&gt;!&lt;/b&gt;`,
		`<option value="fr" selected>Français</option>`)
	if strings.Contains(page, "Bonjour <b>") {
		t.Error("the greeting is not escaped")
	}

	a = b.post("/dashboard/settings", url.Values{"widget_color": {"red"}})
	if a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "#RRGGBB") {
		t.Errorf("bad colour: %d", a.Status)
	}
	var st model.Settings
	agent := s.AddAgent("bo@example.com", "Bo")
	s.Do("GET", "/api/v1/settings", agent.Token, nil, http.StatusOK, &st)
	if st.Widget.Color != "#ffd400" || st.Widget.Position != "left" || st.DefaultLocale != "fr" {
		t.Errorf("after a refused colour: %+v %s", st.Widget, st.DefaultLocale)
	}
}

// The unsubscribe pages speak the language of the address's visitor first,
// whatever the browser says; an address no visitor chatted from follows
// the browser, else the workspace's default.
func TestUnsubscribePagesLanguage(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ada@example.com", "Ada")
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"default_locale": "it"}, http.StatusOK, nil)
	fr := sessionIn(t, s, "fr-FR", "Europe/Paris", "")
	s.Do("PATCH", "/api/v1/visitors/"+fr.Visitor.ID, a.Token, map[string]string{"email": "Lea@example.org"}, http.StatusOK, nil)
	address := func(email string) string {
		t.Helper()
		addr, err := s.App.DB.EnsureEmailAddress(t.Context(), s.Workspace.ID, email, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return "/unsubscribe/" + s.App.Chat.Signer().Sign(token.UnsubscribeAddress, addr.ID)
	}
	lea, nobody := address("lea@example.org"), address("nobody@example.org")
	legacy := "/unsubscribe/" + s.App.Chat.Signer().Sign(token.Unsubscribe, fr.Visitor.ID)
	cases := []struct {
		name, link, accept, lang, words string
	}{
		{"the visitor's, no browser language", lea, "", "fr", "Ne plus recevoir ces e-mails"},
		{"the visitor's, an English browser", lea, "en-US,en;q=0.9", "fr", "Ne plus recevoir ces e-mails"},
		{"the visitor's, by an earlier link", legacy, "en-US", "fr", "Ne plus recevoir ces e-mails"},
		{"no visitor: the browser's", nobody, "es-ES", "es", "¿Dejar de recibir estos correos?"},
		{"no visitor, no browser language: the workspace's", nobody, "", "it", "Non ricevere più queste email?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := getIn(t, s.URL+c.link, c.accept)
			if code != http.StatusOK || !strings.Contains(body, `<html lang="`+c.lang+`">`) || !strings.Contains(body, c.words) {
				t.Errorf("%d, want %s with %q:\n%s", code, c.lang, c.words, body)
			}
		})
	}
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, s.URL+nobody, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		notFramed(t, method+" unsubscribe", res.Header)
	}
	code, body := requestIn(t, "POST", s.URL+lea, []byte{}, "en-US")
	if code != http.StatusOK || !strings.Contains(string(body), `<html lang="fr">`) || !strings.Contains(string(body), "Désabonnement confirmé") {
		t.Errorf("unsubscribed: %d\n%s", code, body)
	}
}
