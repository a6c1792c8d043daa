package chat

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestAgentByTokenKept: a token's agent is read once and kept for a
// moment; whatever this process changes of agents or tokens is seen at
// once, a change by another process (a command on the same file) within
// keptFor, and an expired token is refused on time.
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
		// The reply's work after its commit (the search index) runs in the
		// background; its statements are not the authentication's.
		for i, settled, last := 0, 0, int64(-1); i < 100 && settled < 3; i++ {
			time.Sleep(20 * time.Millisecond)
			n, _ := f.svc.db.Counts()
			if n == last {
				settled++
			} else {
				settled, last = 0, n
			}
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
		other := openSQLite(t, f.path)
		if err := other.DeleteAgentTokens(ctx, bob.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatalf("just after: %v; want kept for up to %s", err, keptFor)
		}
		f.advance(keptFor)
		if _, err := f.svc.AgentByToken(ctx, tok); ErrorCode(err) != CodeInvalidToken {
			t.Fatalf("%s later: %v; want %s", keptFor, err, CodeInvalidToken)
		}
	})
	t.Run("another node's revocation at once", func(t *testing.T) {
		tok := login(t, "bob@example.com")
		if _, err := f.svc.AgentByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// The other node deletes the token and tells this one (the hub
		// calls ForgetTokens).
		other := openSQLite(t, f.path)
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
		other := openSQLite(t, f.path)
		if _, err := other.SQL.ExecContext(ctx, `UPDATE agent_tokens SET expires_at = ? WHERE token_hash = ?`,
			f.now.Add(keptFor/2).UnixMicro(), TokenHash(tok)); err != nil {
			t.Fatal(err)
		}
		// Read again (what was kept is forgotten), now with the expiry as
		// stored: kept until then only.
		f.svc.ForgetTokens()
		if _, n, err := statements(t, tok); err != nil || n != 1 {
			t.Fatalf("before its expiry: %d statements, %v; want 1, nil", n, err)
		}
		f.advance(keptFor / 2)
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

// openSQLite opens the SQLite file at path, closed when the test ends: a
// new database, or one already open a second time, as a command would.
func openSQLite(t *testing.T, path string) *store.DB {
	t.Helper()
	other, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// TestSiteWorkspaceKept: a site's workspace and its agents' availability
// are read once for the sessions of the next moments; whatever this
// process changes of them is seen at once, another node's availability
// change as soon as it tells this one, and another process's change
// within keptFor.
func TestSiteWorkspaceKept(t *testing.T) {
	f := newTypingFixture(t)
	ctx := t.Context()
	// read is what the workspace of the fixture's site reads as now, and
	// what the reading ran in the database.
	read := func(t *testing.T) (model.Workspace, bool, int64) {
		t.Helper()
		before, _ := f.svc.db.Counts()
		w, avail, err := f.svc.siteWorkspace(ctx, f.ws.SiteKey)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := f.svc.db.Counts()
		return w, avail, after - before
	}
	status := func(t *testing.T, status string) {
		t.Helper()
		if _, err := f.svc.SetAgentStatus(ctx, f.agent, status); err != nil {
			t.Fatal(err)
		}
	}
	requireForm := func(t *testing.T, st *store.DB, on bool) {
		t.Helper()
		w, err := st.Workspace(ctx, f.ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		w.Settings.ContactForm.OfflineRequiresForm = on
		if err := st.UpdateSettings(ctx, f.ws.ID, w.Settings); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("read once, then kept", func(t *testing.T) {
		f.svc.ForgetSites()
		if _, _, n := read(t); n != 1 {
			t.Fatalf("first: %d statements; want 1", n)
		}
		// A visitor's message writes no account: the site stays kept.
		if _, err := f.svc.VisitorSend(ctx, f.v.ID, "Still there?", "c2", model.MsgChannelWidget); err != nil {
			t.Fatal(err)
		}
		if w, _, n := read(t); n != 0 || w.ID != f.ws.ID {
			t.Fatalf("again: workspace %s, %d statements; want %s from memory", w.ID, n, f.ws.ID)
		}
	})
	t.Run("a first-time visitor's look reads what a session kept", func(t *testing.T) {
		read(t)
		before, _ := f.svc.db.Counts()
		look, err := f.svc.WidgetLook(ctx, f.ws.SiteKey, SessionLanguage{Locale: "fr"})
		after, _ := f.svc.db.Counts()
		if err != nil || after != before || look.Locale != "fr" {
			t.Fatalf("look %+v, %d statements, %v; want fr from memory", look, after-before, err)
		}
	})
	t.Run("availability changed here is seen at once", func(t *testing.T) {
		status(t, model.StatusOnline)
		if _, avail, _ := read(t); !avail {
			t.Fatal("an agent went online: still unavailable")
		}
		status(t, model.StatusOffline)
		if _, avail, _ := read(t); avail {
			t.Fatal("the last agent went offline: still available")
		}
	})
	t.Run("settings changed here are seen at once", func(t *testing.T) {
		for _, on := range []bool{true, false} {
			if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{ContactForm: &ContactFormPatch{OfflineRequiresForm: &on}}); err != nil {
				t.Fatal(err)
			}
			if w, _, _ := read(t); w.Settings.ContactForm.OfflineRequiresForm != on {
				t.Fatalf("offline form required %v; want %v", w.Settings.ContactForm.OfflineRequiresForm, on)
			}
		}
	})
	t.Run("another process's change within the delay", func(t *testing.T) {
		read(t)
		requireForm(t, openSQLite(t, f.path), true)
		if w, _, _ := read(t); w.Settings.ContactForm.OfflineRequiresForm {
			t.Fatalf("just after: seen already; want kept for up to %s", keptFor)
		}
		f.advance(keptFor)
		if w, _, _ := read(t); !w.Settings.ContactForm.OfflineRequiresForm {
			t.Fatalf("%s later: not seen", keptFor)
		}
	})
	t.Run("another node's availability change at once", func(t *testing.T) {
		if _, avail, _ := read(t); avail {
			t.Fatal("before: available")
		}
		// The other node puts the agent online and tells this one, by the
		// frame for the workspace's widgets (the hub calls ForgetSites).
		if err := openSQLite(t, f.path).SetAgentStatus(ctx, f.agent.ID, model.StatusOnline); err != nil {
			t.Fatal(err)
		}
		f.svc.ForgetSites()
		if _, avail, _ := read(t); !avail {
			t.Fatal("after the other node's change: unavailable")
		}
	})
	t.Run("an unknown site is not kept", func(t *testing.T) {
		for range 2 {
			before, _ := f.svc.db.Counts()
			_, _, err := f.svc.siteWorkspace(ctx, "no-such-site")
			after, _ := f.svc.db.Counts()
			if ErrorCode(err) != CodeUnknownSite || after-before != 1 {
				t.Fatalf("%d statements, %v; want 1, %s", after-before, err, CodeUnknownSite)
			}
		}
	})
}
