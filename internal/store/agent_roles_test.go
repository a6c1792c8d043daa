package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestInvitations(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		a := model.Agent{ID: model.NewID(), WorkspaceID: w.ID, Name: "Cat", Email: "cat@example.com",
			Role: model.RoleAgent, Status: model.StatusOffline, CreatedAt: base}
		if err := db.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		expires := base.Add(7 * 24 * time.Hour)
		if err := db.CreateInvite(ctx, "first", a.ID, base, expires); err != nil {
			t.Fatal(err)
		}
		// A new invitation replaces the earlier one.
		if err := db.CreateInvite(ctx, "second", a.ID, base, expires); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, hash string
			at         time.Time
			found      bool
		}{
			{"valid", "second", base.Add(time.Hour), true},
			{"replaced", "first", base.Add(time.Hour), false},
			{"last valid instant", "second", expires.Add(-time.Microsecond), true},
			{"expired", "second", expires, false},
			{"unknown", "nope", base, false},
		}
		for _, c := range cases {
			got, err := db.AgentByInvite(ctx, c.hash, c.at)
			switch {
			case c.found && (err != nil || got.ID != a.ID || got.Role != model.RoleAgent):
				t.Errorf("%s: %+v, %v", c.name, got, err)
			case !c.found && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: got %+v, %v; want not found", c.name, got, err)
			}
		}
		if used, err := db.UseInvite(ctx, "second"); err != nil || !used {
			t.Fatalf("use: %v %v", used, err)
		}
		if used, err := db.UseInvite(ctx, "second"); err != nil || used {
			t.Fatalf("used twice: %v %v", used, err)
		}
	})
}

func TestAdminsAndRemoval(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		other := newWorkspace(t, db, "Other", base)
		admin := newAgent(t, db, w.ID, model.StatusOnline, nil)
		if err := db.UpdateAgentProfile(ctx, admin.ID, "Ann", model.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		agent := newAgent(t, db, w.ID, model.StatusOffline, nil)
		newAgent(t, db, other.ID, model.StatusOffline, nil)
		invited := model.Agent{ID: model.NewID(), WorkspaceID: w.ID, Name: "Inv", Email: "inv@example.com", Role: model.RoleAdmin, Status: model.StatusOffline, CreatedAt: base}
		if err := db.CreateAgent(ctx, invited); err != nil {
			t.Fatal(err)
		}
		if n, err := db.CountAdmins(ctx, w.ID); err != nil || n != 1 {
			t.Fatalf("admins = %d, %v; want 1 (an invited admin does not count)", n, err)
		}
		list, err := db.AgentsOf(ctx, w.ID)
		if err != nil || len(list) != 3 {
			t.Fatalf("agents of the workspace: %d, %v", len(list), err)
		}
		for _, tok := range []string{"t1", "t2"} {
			if err := db.CreateToken(ctx, tok, agent.ID, base, base.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteAgentTokens(ctx, agent.ID, "t2"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AgentByToken(ctx, "t1", base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted token still valid: %v", err)
		}
		if _, err := db.AgentByToken(ctx, "t2", base); err != nil {
			t.Errorf("kept token: %v", err)
		}
		if err := db.AddPresence(ctx, "node", store.PresenceAgent, agent.ID, base); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAgent(ctx, agent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AgentByToken(ctx, "t2", base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed agent's token still valid: %v", err)
		}
		if _, err := db.Agent(ctx, agent.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed agent still there: %v", err)
		}
	})
}

func TestAwayKeepsChosenStatus(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		a := newAgent(t, db, w.ID, model.StatusOffline, nil)
		if err := db.SetAgentStatus(ctx, a.ID, model.StatusInvisible); err != nil {
			t.Fatal(err)
		}
		// The agent changed their status after the timer looked: nothing.
		if changed, err := db.SetAgentAway(ctx, a.ID, model.StatusOnline); err != nil || changed {
			t.Fatalf("away over a newer choice: %v %v", changed, err)
		}
		if changed, err := db.SetAgentAway(ctx, a.ID, model.StatusInvisible); err != nil || !changed {
			t.Fatalf("away: %v %v", changed, err)
		}
		got, _ := db.Agent(ctx, a.ID)
		if got.Status != model.StatusOffline || got.StatusSource != model.StatusSourceAwayTimer || got.ChosenStatus != model.StatusInvisible {
			t.Fatalf("after away: %+v", got)
		}
		if restored, err := db.RestoreAgentStatus(ctx, a.ID); err != nil || !restored {
			t.Fatalf("restore: %v %v", restored, err)
		}
		got, _ = db.Agent(ctx, a.ID)
		if got.Status != model.StatusInvisible || got.StatusSource != model.StatusSourceAgent {
			t.Fatalf("after restore: %+v", got)
		}
		// Nothing to give back to a status the agent chose.
		if restored, err := db.RestoreAgentStatus(ctx, a.ID); err != nil || restored {
			t.Fatalf("second restore: %v %v", restored, err)
		}
	})
}
