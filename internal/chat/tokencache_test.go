package chat

import (
	"context"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestAgentByTokenKept: a token's agent is read once and kept for a
// moment; whatever this process changes of agents or tokens is seen at
// once, a change by another process (a command on the same file) within
// tokenCacheFor, and an expired token is refused on time.
func TestAgentByTokenKept(t *testing.T) {
	f := newTypingFixture(t)
	ctx := t.Context()
	login := func(t *testing.T, email string) string {
		t.Helper()
		res, err := f.svc.Login(ctx, LoginAttempt{Email: email, Password: "password123", Addr: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Token
	}
	// statements is what one authentication ran in the database.
	statements := func(t *testing.T, tok string) (model.Agent, int64, error) {
		t.Helper()
		before, _ := f.svc.db.Counts()
		a, err := f.svc.AgentByToken(ctx, tok)
		after, _ := f.svc.db.Counts()
		return a, after - before, err
	}
	bob, err := f.svc.CreateAgent(ctx, f.ws.ID, "bob@example.com", "Bob", "password123", model.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("read once, then kept", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if _, n, err := statements(t, tok); err != nil || n != 1 {
			t.Fatalf("first: %d statements, %v; want 1, nil", n, err)
		}
		if a, n, err := statements(t, tok); err != nil || n != 0 || a.ID != bob.ID {
			t.Fatalf("again: agent %s, %d statements, %v; want %s from memory", a.ID, n, err, bob.ID)
		}
		// A reply writes no agent: the token stays kept.
		if _, err := f.svc.PostMessage(ctx, bob, f.conv, "Hi", model.KindReply); err != nil {
			t.Fatal(err)
		}
		if _, n, err := statements(t, tok); err != nil || n != 0 {
			t.Fatalf("after a reply: %d statements, %v; want 0", n, err)
		}
	})
	t.Run("a role changed here is seen at once", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if a, err := f.svc.AgentByToken(ctx, tok); err != nil || !a.IsAdmin() {
			t.Fatalf("before: %+v, %v", a, err)
		}
		role := model.RoleAgent
		if _, err := f.svc.UpdateAgent(ctx, f.agent, bob.ID, AgentPatch{Role: &role}); err != nil {
			t.Fatal(err)
		}
		if a, err := f.svc.AgentByToken(ctx, tok); err != nil || a.IsAdmin() {
			t.Fatalf("after the demotion: role %q, %v; want agent", a.Role, err)
		}
	})
	t.Run("a logout here is seen at once", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Logout(ctx, bob, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AgentByToken(ctx, tok); ErrorCode(err) != CodeInvalidToken {
			t.Fatalf("after the logout: %v; want %s", err, CodeInvalidToken)
		}
	})
	t.Run("another process's revocation within the delay", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		other := openSame(t, f.path)
		if err := other.DeleteAgentTokens(ctx, bob.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatalf("just after: %v; want kept for up to %s", err, tokenCacheFor)
		}
		f.advance(tokenCacheFor)
		if _, err := f.svc.AgentByToken(ctx, tok); ErrorCode(err) != CodeInvalidToken {
			t.Fatalf("%s later: %v; want %s", tokenCacheFor, err, CodeInvalidToken)
		}
	})
	t.Run("another node's revocation at once", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// The other node deletes the token and tells this one (the hub
		// calls ForgetTokens).
		other := openSame(t, f.path)
		if err := other.DeleteToken(ctx, TokenHash(tok)); err != nil {
			t.Fatal(err)
		}
		f.svc.ForgetTokens()
		if _, err := f.svc.AgentByToken(ctx, tok); ErrorCode(err) != CodeInvalidToken {
			t.Fatalf("after the revocation: %v; want %s", err, CodeInvalidToken)
		}
	})
	t.Run("an expired token is refused on time", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// Shorten the token's life to half the delay, from another process.
		other := openSame(t, f.path)
		if _, err := other.SQL.ExecContext(ctx, `UPDATE agent_tokens SET expires_at = ? WHERE token_hash = ?`,
			f.now.Add(tokenCacheFor/2).UnixMicro(), TokenHash(tok)); err != nil {
			t.Fatal(err)
		}
		// Read again (what was kept is forgotten), now with the expiry as
		// stored: kept until then only.
		f.svc.ForgetTokens()
		if _, n, err := statements(t, tok); err != nil || n != 1 {
			t.Fatalf("before its expiry: %d statements, %v; want 1, nil", n, err)
		}
		f.advance(tokenCacheFor / 2)
		if _, err := f.svc.AgentByToken(ctx, tok); ErrorCode(err) != CodeInvalidToken {
			t.Fatalf("at its expiry: %v; want %s", err, CodeInvalidToken)
		}
	})
	t.Run("a wrong token is not kept", func(t *testing.T) {
		for range 2 {
			if _, n, err := statements(t, "not-a-token"); ErrorCode(err) != CodeInvalidToken || n != 1 {
				t.Fatalf("%d statements, %v; want 1, %s", n, err, CodeInvalidToken)
			}
		}
	})
}

// openSame opens the SQLite file at path a second time, as a command
// would.
func openSame(t *testing.T, path string) *store.DB {
	t.Helper()
	other, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}
