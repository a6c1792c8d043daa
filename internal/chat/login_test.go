package chat

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"golang.org/x/crypto/bcrypt"
)

func TestBackoff(t *testing.T) {
	b := newBackoff(5, time.Second, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		failures int
		want     time.Duration // wait right after the last failure
	}{
		{1, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {7, 4 * time.Second},
		{10, 32 * time.Second}, {11, time.Minute}, {40, time.Minute},
	}
	n := 0
	for _, tt := range tests {
		for n < tt.failures {
			n = b.fail("ann@example.com", t0)
		}
		if got := b.wait("ann@example.com", t0); got != tt.want {
			t.Errorf("after %d failures: wait %v, want %v", tt.failures, got, tt.want)
		}
		// Once the delay has passed the next attempt may come.
		if got := b.wait("ann@example.com", t0.Add(tt.want)); got != 0 {
			t.Errorf("after %d failures and %v: wait %v, want 0", tt.failures, tt.want, got)
		}
	}
	if got := b.wait("bob@example.com", t0); got != 0 {
		t.Errorf("another key waits %v", got)
	}
	b.reset("ann@example.com")
	if got := b.wait("ann@example.com", t0); got != 0 {
		t.Errorf("after reset: wait %v", got)
	}
}

// TestDummyHashCostsAsPasswords keeps a login with an unknown email as
// slow as one with a wrong password.
func TestDummyHashCostsAsPasswords(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash)
	if err != nil {
		t.Fatalf("dummy hash: %v", err)
	}
	if cost != bcrypt.DefaultCost {
		t.Errorf("dummy hash costs %d, passwords %d", cost, bcrypt.DefaultCost)
	}
	if bcrypt.CompareHashAndPassword(dummyHash, []byte("")) == nil {
		t.Error("the dummy hash matches an empty password")
	}
}

// TestPasswordHashOfAccountsWithoutPassword keeps a login to an unknown
// email or to an invitation not yet accepted as slow as a wrong password:
// both are compared against a hash of the passwords' cost.
func TestPasswordHashOfAccountsWithoutPassword(t *testing.T) {
	own, err := bcrypt.GenerateFromPassword([]byte("a password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		agent model.Agent
		want  []byte
	}{
		{"unknown email", model.Agent{}, dummyHash},
		{"invited, no password yet", model.Agent{ID: "a1", Email: "cat@example.com"}, dummyHash},
		{"with a password", model.Agent{ID: "a2", PasswordHash: string(own)}, own},
	}
	for _, tt := range tests {
		if got := passwordHash(tt.agent); string(got) != string(tt.want) {
			t.Errorf("%s: compared against %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestLoginToOwnAccountKeepsTheAddressSlowed: guesses at many accounts
// from one address are slowed after ten; logging in to an account of
// one's own forgives that account's mistakes only, not the guesses.
func TestLoginToOwnAccountKeepsTheAddressSlowed(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	const addr = "203.0.113.66"
	try := func(email, password string) string {
		t.Helper()
		_, err := f.svc.Login(ctx, LoginAttempt{Email: email, Password: password, Addr: addr})
		if err == nil {
			return "ok"
		}
		return ErrorCode(err)
	}
	spray := func(n int) string {
		t.Helper()
		var got []string
		for i := range n {
			got = append(got, try(fmt.Sprintf("user%d@example.com", i), "Summer2026!"))
		}
		return strings.Join(got, " ")
	}
	if got := spray(11); !strings.HasSuffix(got, CodeInvalidCredentials+" "+CodeRateLimited) {
		t.Fatalf("eleven guesses: %s; want the eleventh slowed", got)
	}
	*f.now = f.now.Add(2 * time.Second)
	// A typo of the owner, then the right password too soon after it.
	if got := try("ann@example.com", "wrong") + " " + try("ann@example.com", "password123"); got != CodeInvalidCredentials+" "+CodeRateLimited {
		t.Fatalf("owner's typo then login while slowed: %s", got)
	}
	// Failures on the same account from another address are not this
	// address's to forgive.
	for range 3 {
		if _, err := f.svc.Login(ctx, LoginAttempt{Email: "ann@example.com", Password: "wrong", Addr: "198.51.100.7"}); ErrorCode(err) != CodeInvalidCredentials {
			t.Fatalf("a failure from another address: %v", err)
		}
	}
	*f.now = f.now.Add(10 * time.Minute)
	if got := try("ann@example.com", "password123"); got != "ok" {
		t.Fatalf("owner's login once the delay passed: %s", got)
	}
	*f.now = f.now.Add(time.Minute)
	// The ten guesses still count: the next one is checked, the one after
	// it slowed again.
	if got := spray(2); got != CodeInvalidCredentials+" "+CodeRateLimited {
		t.Errorf("guesses after the owner's login: %s; want the second slowed", got)
	}
}
