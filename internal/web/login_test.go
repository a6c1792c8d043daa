package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/logging/logtest"
	"github.com/parleychat/parley/internal/model"
)

// login posts credentials from a client address (behind the trusted
// proxy), with the cookies given, and returns the status, Retry-After and
// the cookies set.
func login(t *testing.T, s *apptest.Server, addr, email, password string, cookies ...*http.Cookie) (int, string, []*http.Cookie) {
	t.Helper()
	raw, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/auth/login", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), resp.Cookies()
}

// Five wrong passwords a minute used to lock the real agent out as well
// (and, behind a load balancer, everyone shared one address's bucket).
// Now failures slow the account and the address with a doubling delay; the
// owner's browser, known from an earlier login, gets in at once, and
// another client address is not slowed by the attacker's.
func TestLoginLockoutSparesTheOwner(t *testing.T) {
	var logged logtest.Buffer
	s := apptest.StartLogged(t, map[string]string{"PARLEY_TRUSTED_PROXIES": "127.0.0.1"},
		slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn})))
	s.AddAgent("ann@example.com", "Ann")
	const owner, attacker, colleague = "198.51.100.10", "203.0.113.66", "198.51.100.20"

	status, _, cookies := login(t, s, owner, "ann@example.com", "correct horse battery")
	var device *http.Cookie
	for _, c := range cookies {
		if c.Name == "parley_device" && c.HttpOnly {
			device = c
		}
	}
	if status != http.StatusOK || device == nil {
		t.Fatalf("first login: %d, device cookie %v", status, device)
	}

	unauthorized, limited := 0, 0
	for i := range 30 {
		status, retry, _ := login(t, s, attacker, "ann@example.com", "guess-"+strconv.Itoa(i))
		switch status {
		case http.StatusUnauthorized:
			unauthorized++
		case http.StatusTooManyRequests:
			limited++
			if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 60 {
				t.Fatalf("Retry-After %q, want 1 to 60 seconds", retry)
			}
		default:
			t.Fatalf("guess %d: status %d", i, status)
		}
	}
	if unauthorized != 5 || limited != 25 {
		t.Fatalf("30 quick guesses: %d checked, %d slowed; want 5 and 25", unauthorized, limited)
	}
	// The attacker's address stays slowed, even with the right password.
	if status, _, _ := login(t, s, attacker, "ann@example.com", "correct horse battery"); status != http.StatusTooManyRequests {
		t.Fatalf("attacker with the right password while slowed: %d", status)
	}
	// The owner's known browser is not.
	if status, _, _ := login(t, s, owner, "ann@example.com", "correct horse battery", device); status != http.StatusOK {
		t.Fatalf("owner's known device during the attack: %d, want 200", status)
	}
	// A forged or another account's device cookie is worth nothing.
	forged := &http.Cookie{Name: "parley_device", Value: device.Value + "x"}
	if status, _, _ := login(t, s, owner, "ann@example.com", "correct horse battery", forged); status != http.StatusTooManyRequests {
		t.Fatalf("forged device cookie: %d, want 429", status)
	}
	// Another person's account from another address is untouched.
	if _, err := s.App.Chat.CreateAgent(t.Context(), s.Workspace.ID, "bob@example.com", "Bob", "another fine password", model.RoleAgent); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := login(t, s, colleague, "bob@example.com", "another fine password"); status != http.StatusOK {
		t.Fatalf("another account from another address: %d", status)
	}

	out := logged.String()
	if n := strings.Count(out, `msg="login failed"`); n != 5 {
		t.Errorf("%d failed logins logged, want 5:\n%s", n, out)
	}
	if !strings.Contains(out, "account=a***@example.com") || strings.Contains(out, "ann@example.com") || strings.Contains(out, "guess-") {
		t.Errorf("failed logins must name the account masked and never the password:\n%s", out)
	}
}
