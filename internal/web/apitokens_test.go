package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

type madeToken struct {
	model.APIToken
	Token string `json:"token"`
}

func makeToken(t *testing.T, s *apptest.Server, bearer string, body map[string]any) madeToken {
	t.Helper()
	if _, ok := body["password"]; !ok {
		body["password"] = apptest.AgentPassword
	}
	var m madeToken
	s.Do("POST", "/api/v1/me/tokens", bearer, body, http.StatusCreated, &m)
	return m
}

func listTokens(t *testing.T, s *apptest.Server, bearer string) ([]model.APIToken, string) {
	t.Helper()
	var out struct {
		Tokens []model.APIToken `json:"tokens"`
	}
	raw := s.Do("GET", "/api/v1/me/tokens", bearer, nil, http.StatusOK, &out)
	return out.Tokens, string(raw)
}

// An API token acts as the agent who made it until it expires or is
// revoked; its secret is never listed; a password change ends the other
// logins' tokens, not it; revoking closes what was opened with it.
func TestAPITokens(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		bob := s.AddAgent("bob@example.com", "Bob")
		if _, raw := listTokens(t, s, ann.Token); !strings.Contains(raw, `"tokens":[]`) {
			t.Errorf("no tokens yet: %s", raw)
		}

		before := time.Now()
		crm := makeToken(t, s, ann.Token, map[string]any{"name": "  CRM   sync "})
		if !strings.HasPrefix(crm.Token, "pat_") || len(crm.Token) < 40 || crm.Name != "CRM sync" || crm.LastUsedAt != nil ||
			crm.ExpiresAt == nil || crm.ExpiresAt.Sub(before) < 89*24*time.Hour || crm.ExpiresAt.Sub(before) > 91*24*time.Hour {
			t.Fatalf("made: %+v, expires %v", crm, crm.ExpiresAt)
		}
		forever := makeToken(t, s, ann.Token, map[string]any{"name": "Bot", "expires_in_days": 0})
		if forever.ExpiresAt != nil {
			t.Errorf("a token without end expires at %v", forever.ExpiresAt)
		}

		var me struct{ ID string }
		s.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusOK, &me)
		if me.ID != ann.ID {
			t.Fatalf("the token acts as %s, want Ann (%s)", me.ID, ann.ID)
		}
		tokens, raw := listTokens(t, s, ann.Token)
		if len(tokens) != 2 || tokens[0].ID != forever.ID || tokens[1].ID != crm.ID || tokens[1].LastUsedAt == nil || tokens[0].LastUsedAt != nil {
			t.Errorf("list: %s", raw)
		}
		if strings.Contains(raw, crm.Token) || strings.Contains(raw, forever.Token) || strings.Contains(raw, `"token"`) {
			t.Errorf("the list shows a secret: %s", raw)
		}
		if others, _ := listTokens(t, s, bob.Token); len(others) != 0 {
			t.Errorf("Bob sees Ann's tokens: %+v", others)
		}

		// What is refused.
		for _, tc := range []struct {
			name string
			body map[string]any
		}{
			{"no name", map[string]any{"name": "  "}},
			{"a name too long", map[string]any{"name": strings.Repeat("n", 65)}},
			{"a control character", map[string]any{"name": "bell\a"}},
			{"a lifetime not offered", map[string]any{"name": "week", "expires_in_days": 7}},
			{"a negative lifetime", map[string]any{"name": "past", "expires_in_days": -1}},
		} {
			tc.body["password"] = apptest.AgentPassword
			raw := s.Do("POST", "/api/v1/me/tokens", ann.Token, tc.body, http.StatusBadRequest, nil)
			if apptest.ErrorCode(raw) != "bad_request" {
				t.Errorf("%s: %s", tc.name, raw)
			}
		}
		s.Do("DELETE", "/api/v1/me/tokens/"+crm.ID, bob.Token, nil, http.StatusNotFound, nil)
		s.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusOK, nil)

		// Without the password, no token: a stolen session or token alone
		// cannot make one that outlives a password change.
		for _, tc := range []struct {
			password, code string
			status         int
		}{{"", "bad_request", http.StatusBadRequest}, {"wrong password", "invalid_credentials", http.StatusForbidden}} {
			raw := s.Do("POST", "/api/v1/me/tokens", crm.Token, map[string]any{"name": "minted", "expires_in_days": 0, "password": tc.password}, tc.status, nil)
			if apptest.ErrorCode(raw) != tc.code {
				t.Errorf("password %q: %s", tc.password, raw)
			}
		}
		if tokens, _ := listTokens(t, s, ann.Token); len(tokens) != 2 {
			t.Errorf("%d tokens after refusals, want 2", len(tokens))
		}

		// Logging out with an API token is refused: the token stays.
		if raw := s.Do("POST", "/api/v1/auth/logout", forever.Token, nil, http.StatusBadRequest, nil); !strings.Contains(string(raw), "API token") {
			t.Errorf("logout with an API token: %s", raw)
		}
		s.Do("GET", "/api/v1/me", forever.Token, nil, http.StatusOK, nil)

		// A password change ends Ann's other login and its live
		// connection, not her API tokens nor theirs.
		var second struct{ Token string }
		s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": apptest.AgentPassword}, http.StatusOK, &second)
		loginWS, apiWS := s.DialAgent(second.Token), s.DialAgent(crm.Token)
		s.Do("PUT", "/api/v1/me/password", ann.Token, map[string]string{"current_password": apptest.AgentPassword, "new_password": "a new password"}, http.StatusNoContent, nil)
		s.Do("GET", "/api/v1/me", second.Token, nil, http.StatusUnauthorized, nil)
		s.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusOK, nil)
		s.Do("GET", "/api/v1/me", forever.Token, nil, http.StatusOK, nil)
		if got := loginWS.CloseStatus(5 * time.Second); got != websocket.StatusPolicyViolation {
			t.Errorf("the other login's live connection closed with %v, want %v", got, websocket.StatusPolicyViolation)
		}
		if _, closed := apiWS.Closed(time.Second); closed {
			t.Error("the password change closed the API token's live connection")
		}

		// Revoking ends the token at once, with its live connection.
		s.Do("DELETE", "/api/v1/me/tokens/"+crm.ID, ann.Token, nil, http.StatusNoContent, nil)
		if got := apiWS.CloseStatus(5 * time.Second); got != websocket.StatusPolicyViolation {
			t.Errorf("the revoked token's live connection closed with %v, want %v", got, websocket.StatusPolicyViolation)
		}
		if raw := s.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusUnauthorized, nil); apptest.ErrorCode(raw) != "invalid_token" {
			t.Errorf("a revoked token: %s", raw)
		}
		s.Do("DELETE", "/api/v1/me/tokens/"+crm.ID, ann.Token, nil, http.StatusNotFound, nil)
		s.Do("GET", "/api/v1/me", forever.Token, nil, http.StatusOK, nil)

		// An expired token answers as an unknown one, and is listed as it is.
		// (An id is letters and digits: written in, the statement is the
		// same on both databases.)
		if _, err := s.App.DB.SQL.Exec(`UPDATE agent_tokens SET expires_at = created_at + 1 WHERE id = '` + forever.ID + `'`); err != nil {
			t.Fatal(err)
		}
		s.App.Chat.ForgetTokens()
		s.Do("GET", "/api/v1/me", forever.Token, nil, http.StatusUnauthorized, nil)
		if tokens, raw := listTokens(t, s, bob.Token); len(tokens) != 0 {
			t.Errorf("Bob's list: %s", raw)
		}
		if tokens, raw := listTokens(t, s, ann.Token); len(tokens) != 1 || tokens[0].ExpiresAt == nil || tokens[0].ID != forever.ID {
			t.Errorf("Ann's list with the expired token: %s", raw)
		}
	})
}

// An agent has at most 20 API tokens, also when many are asked for at
// once (on PostgreSQL, transactions run side by side).
func TestAPITokensLimit(t *testing.T) {
	eachDB(t, map[string]string{"PARLEY_RATE_LIMITS": "off"}, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		for i := range 15 {
			makeToken(t, s, ann.Token, map[string]any{"name": fmt.Sprint("t", i)})
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				body := map[string]any{"name": fmt.Sprint("at once ", i), "password": apptest.AgentPassword}
				req, _ := http.NewRequest("POST", s.URL+"/api/v1/me/tokens", strings.NewReader(mustJSON(t, body)))
				req.Header.Set("Authorization", "Bearer "+ann.Token)
				req.Header.Set("Content-Type", "application/json")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		if tokens, _ := listTokens(t, s, ann.Token); len(tokens) != 20 {
			t.Errorf("%d tokens, want 20", len(tokens))
		}
		raw := s.Do("POST", "/api/v1/me/tokens", ann.Token, map[string]any{"name": "one more", "password": apptest.AgentPassword}, http.StatusBadRequest, nil)
		if !strings.Contains(string(raw), "at most 20 API tokens") {
			t.Errorf("the 21st: %s", raw)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Settings → Your account: a token made there is shown once, listed
// without its secret, and revoked with its button.
func TestDashboardAPITokens(t *testing.T) {
	srv, _, b := setup(t)
	page := b.get("/dashboard/settings/account")
	mustContain(t, "no tokens", page.Body, `data-testid="no-tokens"`, `<option value="90" selected>90 days</option>`, `<option value="0">Never</option>`)

	wrong := b.post("/dashboard/settings/account/tokens", url.Values{"name": {"CRM"}, "expires_in_days": {"365"}, "password": {"nope"}})
	if wrong.Status != http.StatusForbidden {
		t.Errorf("a wrong password: %d", wrong.Status)
	}
	mustContain(t, "a wrong password", wrong.Body, "The current password is wrong", `value="CRM"`, `<option value="365" selected>365 days</option>`)
	a := b.post("/dashboard/settings/account/tokens", url.Values{"name": {`<script>alert(1)</script>`}, "expires_in_days": {"365"}, "password": {apptest.AgentPassword}})
	if a.Status != http.StatusCreated {
		t.Fatalf("make: %d\n%s", a.Status, a.Body)
	}
	mustContain(t, "made", a.Body, `data-testid="token-made"`, `Token “&lt;script&gt;alert(1)&lt;/script&gt;” made.`, `value="pat_`,
		`<option value="90" selected>90 days</option>`)
	mustNotContain(t, "made", a.Body, "<script>alert(1)")
	if a.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with the secret may be cached: %q", a.Header.Get("Cache-Control"))
	}
	secret := a.Body[strings.Index(a.Body, `value="pat_`)+len(`value="`):]
	secret = secret[:strings.Index(secret, `"`)]
	var me struct{ Name string }
	srv.Do("GET", "/api/v1/me", secret, nil, http.StatusOK, &me)

	page = b.get("/dashboard/settings/account")
	mustContain(t, "listed", page.Body, `data-testid="token-row"`, `aria-label="Revoke &lt;script&gt;alert(1)&lt;/script&gt;"`)
	mustNotContain(t, "listed", page.Body, secret, `data-testid="token-made"`)

	refused := b.post("/dashboard/settings/account/tokens", url.Values{"name": {""}, "expires_in_days": {"30"}, "password": {apptest.AgentPassword}})
	if refused.Status != http.StatusBadRequest {
		t.Errorf("no name: %d", refused.Status)
	}
	mustContain(t, "refused", refused.Body, `data-testid="token-error"`, `aria-invalid="true"`, `<option value="30" selected>30 days</option>`)

	id := page.Body[strings.Index(page.Body, `data-testid="token-row" data-id="`)+len(`data-testid="token-row" data-id="`):]
	id = id[:strings.Index(id, `"`)]
	done := b.post("/dashboard/settings/account/tokens/"+id+"/revoke", url.Values{})
	if done.Status != http.StatusSeeOther || done.Location != "/dashboard/settings/account?done=token-revoked#api-tokens" {
		t.Fatalf("revoke: %d %q", done.Status, done.Location)
	}
	mustContain(t, "revoked", b.get(done.Location).Body, "API token revoked: it no longer works.", `data-testid="no-tokens"`)
	srv.Do("GET", "/api/v1/me", secret, nil, http.StatusUnauthorized, nil)
	if a := b.post("/dashboard/settings/account/tokens/"+id+"/revoke", url.Values{}); a.Status != http.StatusNotFound {
		t.Errorf("revoking again: %d", a.Status)
	}
}

// An admin sees a colleague's API tokens (never their secrets) and revokes
// one: it stops working at once, with what was opened with it, and the
// colleague keeps their seat, their login and their other tokens. An agent
// sees and revokes their own only; nobody reaches another workspace's.
func TestAdminRevokesAColleaguesToken(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann") // admin
	bob := s.AddAgent("bob@example.com", "Bob")
	other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	eve := s.AddAgent("eve@example.com", "Eve", other.ID) // the other's admin
	crm := makeToken(t, s, bob.Token, map[string]any{"name": "CRM"})
	bot := makeToken(t, s, bob.Token, map[string]any{"name": "Bot"})
	own := makeToken(t, s, ann.Token, map[string]any{"name": "Ann's"})

	var out struct{ Tokens []model.APIToken }
	raw := s.Do("GET", "/api/v1/agents/"+bob.ID+"/tokens", ann.Token, nil, http.StatusOK, &out)
	if len(out.Tokens) != 2 || out.Tokens[0].Name != "Bot" || out.Tokens[1].Name != "CRM" {
		t.Fatalf("Bob's tokens as Ann sees them: %+v, want Bot then CRM", out.Tokens)
	}
	if strings.Contains(string(raw), crm.Token) || strings.Contains(string(raw), "pat_") {
		t.Fatalf("a secret in the list: %s", raw)
	}
	for _, c := range []struct {
		name, method, path, bearer string
		want                       int
	}{
		{"Bob lists his own", "GET", "/api/v1/agents/" + bob.ID + "/tokens", bob.Token, http.StatusOK},
		{"Bob lists Ann's", "GET", "/api/v1/agents/" + ann.ID + "/tokens", bob.Token, http.StatusForbidden},
		{"Bob revokes Ann's", "DELETE", "/api/v1/agents/" + ann.ID + "/tokens/" + own.ID, bob.Token, http.StatusForbidden},
		{"Eve lists Bob's", "GET", "/api/v1/agents/" + bob.ID + "/tokens", eve.Token, http.StatusNotFound},
		{"Eve revokes Bob's", "DELETE", "/api/v1/agents/" + bob.ID + "/tokens/" + crm.ID, eve.Token, http.StatusNotFound},
		{"Ann's token through Bob", "DELETE", "/api/v1/agents/" + bob.ID + "/tokens/" + own.ID, ann.Token, http.StatusNotFound},
		{"an unknown agent", "GET", "/api/v1/agents/nobody/tokens", ann.Token, http.StatusNotFound},
		{"without a token", "GET", "/api/v1/agents/" + bob.ID + "/tokens", "", http.StatusUnauthorized},
	} {
		s.Do(c.method, c.path, c.bearer, nil, c.want, nil)
	}
	s.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusOK, nil)

	// What was opened with it closes too.
	conn := s.DialAgent(crm.Token)
	defer conn.Close()
	s.Do("DELETE", "/api/v1/agents/"+bob.ID+"/tokens/"+crm.ID, ann.Token, nil, http.StatusNoContent, nil)
	s.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusUnauthorized, nil)
	if got := conn.CloseStatus(5 * time.Second); got != websocket.StatusPolicyViolation {
		t.Errorf("the revoked token's live connection closed with %v, want %v", got, websocket.StatusPolicyViolation)
	}
	for _, tok := range []string{bot.Token, bob.Token, own.Token} {
		s.Do("GET", "/api/v1/me", tok, nil, http.StatusOK, nil)
	}
	s.Do("DELETE", "/api/v1/agents/"+bob.ID+"/tokens/"+crm.ID, ann.Token, nil, http.StatusNotFound, nil)
	// Bob revokes his own through the same path.
	s.Do("DELETE", "/api/v1/agents/"+bob.ID+"/tokens/"+bot.ID, bob.Token, nil, http.StatusNoContent, nil)
	s.Do("GET", "/api/v1/me", bot.Token, nil, http.StatusUnauthorized, nil)
}

// Settings → Agents shows an admin each agent's API tokens, names escaped,
// with a revoke button; an agent sees none there.
func TestDashboardAgentsTokens(t *testing.T) {
	srv, _, b := setup(t)
	bob := srv.AddAgent("bob@example.com", "Bob")
	tok := makeToken(t, srv, bob.Token, map[string]any{"name": `<img src=x onerror=alert(1)>`})
	page := b.get("/dashboard/settings/agents")
	mustContain(t, "the agents page", page.Body, `data-testid="agent-tokens"`, "API tokens (1)",
		`&lt;img src=x onerror=alert(1)&gt;`, `action="/dashboard/settings/agents/`+bob.ID+`/tokens/`+tok.ID+`/revoke"`)
	mustNotContain(t, "the agents page", page.Body, "<img src=x", tok.Token)

	done := b.post("/dashboard/settings/agents/"+bob.ID+"/tokens/"+tok.ID+"/revoke", url.Values{})
	if want := "/dashboard/settings/agents?done=token-revoked#agent-" + bob.ID; done.Status != http.StatusSeeOther || done.Location != want {
		t.Fatalf("revoke: %d %q, want 303 to %q", done.Status, done.Location, want)
	}
	page = b.get(done.Location)
	mustContain(t, "revoked", page.Body, "API token revoked: what used it stops working at once.")
	mustNotContain(t, "revoked", page.Body, `data-testid="agent-tokens"`)
	srv.Do("GET", "/api/v1/me", tok.Token, nil, http.StatusUnauthorized, nil)
	if a := b.post("/dashboard/settings/agents/"+bob.ID+"/tokens/"+tok.ID+"/revoke", url.Values{}); a.Status != http.StatusNotFound {
		t.Errorf("revoking again: %d, want 404", a.Status)
	}

	// Bob, an agent, sees nobody's tokens on that page.
	makeToken(t, srv, bob.Token, map[string]any{"name": "Bot"})
	bb := newBrowser(t, srv)
	bb.login("bob@example.com")
	mustNotContain(t, "an agent's agents page", bb.get("/dashboard/settings/agents").Body, `data-testid="agent-tokens"`)
	if a := bb.post("/dashboard/settings/agents/"+bob.ID+"/tokens/nope/revoke", url.Values{}); a.Status != http.StatusNotFound {
		t.Errorf("an unknown token of his own: %d, want 404", a.Status)
	}
}
