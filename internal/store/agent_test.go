package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestAgents(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)

		before, err := db.CountAgents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ann := model.Agent{
			ID:             model.NewID(),
			WorkspaceID:    w.ID,
			Name:           "Ann",
			Email:          "Ann.Smith@Example.COM",
			Role:           model.RoleAdmin,
			Status:         model.StatusOnline,
			ChosenStatus:   model.StatusOnline,
			StatusSource:   model.StatusSourceAgent,
			PasswordHash:   "$argon2id$hash",
			DisconnectedAt: new(at(time.Minute)),
			CreatedAt:      at(0),
		}
		if err := db.CreateAgent(ctx, ann); err != nil {
			t.Fatalf("CreateAgent: %v", err)
		}
		want := ann
		want.Email = "ann.smith@example.com" // stored lower-case
		want.DisconnectedAt = storedPtr(ann.DisconnectedAt)
		want.CreatedAt = stored(ann.CreatedAt)

		t.Run("lookup", func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				get     func() (model.Agent, error)
				wantErr error
			}{
				{"by id", func() (model.Agent, error) { return db.Agent(ctx, ann.ID) }, nil},
				{"by email as stored", func() (model.Agent, error) { return db.AgentByEmail(ctx, "ann.smith@example.com") }, nil},
				{"by email as created", func() (model.Agent, error) { return db.AgentByEmail(ctx, ann.Email) }, nil},
				{"by email upper-case", func() (model.Agent, error) { return db.AgentByEmail(ctx, "ANN.SMITH@EXAMPLE.COM") }, nil},
				{"unknown id", func() (model.Agent, error) { return db.Agent(ctx, model.NewID()) }, store.ErrNotFound},
				{"unknown email", func() (model.Agent, error) { return db.AgentByEmail(ctx, "bob@example.com") }, store.ErrNotFound},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := tc.get()
					if tc.wantErr != nil {
						if !errors.Is(err, tc.wantErr) {
							t.Fatalf("err = %v, want %v", err, tc.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					check(t, "agent", got, want)
				})
			}
		})

		t.Run("duplicate email", func(t *testing.T) {
			for _, tc := range []struct {
				name, workspaceID, email string
			}{
				{"same address", w.ID, "ann.smith@example.com"},
				{"other case", w.ID, "ANN.smith@example.com"},
				{"other workspace", other.ID, "ann.smith@example.com"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					dup := model.Agent{ID: model.NewID(), WorkspaceID: tc.workspaceID, Name: "Dup", Email: tc.email,
						Status: model.StatusOffline, PasswordHash: "x", CreatedAt: base}
					if err := db.CreateAgent(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
						t.Fatalf("err = %v, want ErrDuplicate", err)
					}
				})
			}
		})

		t.Run("count", func(t *testing.T) {
			newAgent(t, db, other.ID, model.StatusOffline, nil)
			n, err := db.CountAgents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "CountAgents (all workspaces)", n, before+2)
		})

		t.Run("status and disconnected_at", func(t *testing.T) {
			a := newAgent(t, db, w.ID, model.StatusOffline, nil)
			// Steps run in order on the same agent.
			for _, step := range []struct {
				name         string
				status       string
				disconnected *time.Time
			}{
				{"goes online, connected", model.StatusOnline, nil},
				{"dashboard closed", model.StatusOnline, new(at(time.Minute))},
				{"invisible, closed later", model.StatusInvisible, new(at(time.Hour))},
				{"reconnected", model.StatusInvisible, nil},
				{"offline", model.StatusOffline, new(at(2 * time.Hour))},
			} {
				if err := db.SetAgentStatus(ctx, a.ID, step.status); err != nil {
					t.Fatalf("%s: SetAgentStatus: %v", step.name, err)
				}
				if err := db.SetAgentDisconnectedAt(ctx, a.ID, step.disconnected); err != nil {
					t.Fatalf("%s: SetAgentDisconnectedAt: %v", step.name, err)
				}
				got, err := db.Agent(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, step.name+": status", got.Status, step.status)
				check(t, step.name+": disconnected_at", got.DisconnectedAt, storedPtr(step.disconnected))
			}
		})
	})
}

func TestAgentsAvailable(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		// Another workspace's online agent never counts.
		newAgent(t, db, newWorkspace(t, db, "Other", base).ID, model.StatusOnline, nil)
		for _, tc := range []struct {
			name     string
			statuses []string
			want     bool
		}{
			{"no agents", nil, false},
			{"offline", []string{model.StatusOffline}, false},
			{"online", []string{model.StatusOnline}, true},
			{"invisible", []string{model.StatusInvisible}, true},
			{"offline and invisible", []string{model.StatusOffline, model.StatusInvisible}, true},
			{"all offline", []string{model.StatusOffline, model.StatusOffline}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := newWorkspace(t, db, "W", base)
				for _, st := range tc.statuses {
					newAgent(t, db, w.ID, st, nil)
				}
				got, err := db.AgentsAvailable(ctx, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "AgentsAvailable", got, tc.want)
				// A widget's session reads it with the workspace.
				sw, avail, err := db.SiteWorkspace(ctx, w.SiteKey)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "SiteWorkspace's workspace", sw.ID, w.ID)
				check(t, "SiteWorkspace's availability", avail, tc.want)
				// A visitor's message, by the workspace's id.
				iw, avail, err := db.WorkspaceAvailable(ctx, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "WorkspaceAvailable's workspace", iw, sw)
				check(t, "WorkspaceAvailable's availability", avail, tc.want)
			})
		}

		t.Run("follows status", func(t *testing.T) {
			w := newWorkspace(t, db, "W", base)
			a := newAgent(t, db, w.ID, model.StatusOnline, nil)
			if err := db.SetAgentStatus(ctx, a.ID, model.StatusOffline); err != nil {
				t.Fatal(err)
			}
			got, err := db.AgentsAvailable(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "AgentsAvailable after going offline", got, false)
			if _, avail, err := db.SiteWorkspace(ctx, w.SiteKey); err != nil || avail {
				t.Fatalf("SiteWorkspace after going offline: %v, %v; want false", avail, err)
			}
			if _, _, err := db.SiteWorkspace(ctx, "site-none"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("SiteWorkspace of an unknown key: %v; want ErrNotFound", err)
			}
			if _, avail, err := db.WorkspaceAvailable(ctx, w.ID); err != nil || avail {
				t.Fatalf("WorkspaceAvailable after going offline: %v, %v; want false", avail, err)
			}
			if _, _, err := db.WorkspaceAvailable(ctx, model.NewID()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("WorkspaceAvailable of an unknown workspace: %v; want ErrNotFound", err)
			}
		})
	})
}

// TestAgentsAway covers the queries that span every workspace, so it has a
// database of its own.
func TestAgentsAway(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w1 := newWorkspace(t, db, "One", base)
		w2 := newWorkspace(t, db, "Two", base)
		cutoff := at(10 * time.Minute)
		var (
			onlineOld       = newAgent(t, db, w1.ID, model.StatusOnline, new(at(5*time.Minute)))
			onlineAtCutoff  = newAgent(t, db, w2.ID, model.StatusOnline, new(cutoff))
			onlineRecent    = newAgent(t, db, w1.ID, model.StatusOnline, new(at(11*time.Minute)))
			onlineConnected = newAgent(t, db, w1.ID, model.StatusOnline, nil)
			invisibleOld    = newAgent(t, db, w2.ID, model.StatusInvisible, new(at(time.Minute)))
			invisibleConn   = newAgent(t, db, w2.ID, model.StatusInvisible, nil)
			offlineOld      = newAgent(t, db, w1.ID, model.StatusOffline, new(at(time.Minute)))
			offlineConn     = newAgent(t, db, w2.ID, model.StatusOffline, nil)
		)

		t.Run("AgentsAwaySince", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				cutoff time.Time
				want   []model.Agent
			}{
				{"before every disconnection", at(0), nil},
				{"after the oldest", at(5 * time.Minute), []model.Agent{onlineOld, invisibleOld}},
				{"at a disconnection (inclusive)", cutoff, []model.Agent{onlineOld, onlineAtCutoff, invisibleOld}},
				{"after all", at(time.Hour), []model.Agent{onlineOld, onlineAtCutoff, onlineRecent, invisibleOld}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := db.AgentsAwaySince(ctx, tc.cutoff)
					if err != nil {
						t.Fatal(err)
					}
					check(t, "away agents", agentIDs(got), agentIDs(tc.want))
				})
			}
		})

		t.Run("MarkAgentsDisconnected", func(t *testing.T) {
			restart := at(2 * time.Hour)
			if err := db.MarkAgentsDisconnected(ctx, restart); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				agent model.Agent
				want  *time.Time
			}{
				{onlineOld, onlineOld.DisconnectedAt},
				{onlineAtCutoff, onlineAtCutoff.DisconnectedAt},
				{onlineRecent, onlineRecent.DisconnectedAt},
				{onlineConnected, &restart},
				{invisibleOld, invisibleOld.DisconnectedAt},
				{invisibleConn, &restart},
				{offlineOld, offlineOld.DisconnectedAt},
				{offlineConn, nil},
			} {
				got, err := db.Agent(ctx, tc.agent.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, tc.agent.Status+" agent's disconnected_at", got.DisconnectedAt, storedPtr(tc.want))
			}
		})
	})
}

// agentIDs returns the sorted ids of agents.
func agentIDs(agents []model.Agent) []string {
	ids := []string{}
	for _, a := range agents {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestTokens(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		a := newAgent(t, db, w.ID, model.StatusOnline, nil)
		b := newAgent(t, db, w.ID, model.StatusOnline, nil)
		expires := at(time.Hour)
		if err := db.CreateToken(ctx, "hash-a", a.ID, at(0), expires); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if err := db.CreateToken(ctx, "hash-b", b.ID, at(0), expires); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}

		for _, tc := range []struct {
			name    string
			hash    string
			now     time.Time
			want    string // agent id; "" for ErrNotFound
			deleted bool   // look up after DeleteToken("hash-a")
		}{
			{"fresh", "hash-a", at(time.Minute), a.ID, false},
			{"other agent's token", "hash-b", at(time.Minute), b.ID, false},
			{"a microsecond before expiry", "hash-a", expires.Add(-time.Microsecond), a.ID, false},
			{"at expiry", "hash-a", expires, "", false},
			{"after expiry", "hash-a", at(2 * time.Hour), "", false},
			{"unknown hash", "hash-x", at(time.Minute), "", false},
			{"after logout", "hash-a", at(time.Minute), "", true},
			{"other token survives logout", "hash-b", at(time.Minute), b.ID, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.deleted {
					if err := db.DeleteToken(ctx, "hash-a"); err != nil {
						t.Fatalf("DeleteToken: %v", err)
					}
				}
				got, err := db.AgentByToken(ctx, tc.hash, tc.now)
				if tc.want == "" {
					if !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("err = %v, want ErrNotFound", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				check(t, "agent", got.ID, tc.want)
			})
		}

		t.Run("delete unknown token", func(t *testing.T) {
			if err := db.DeleteToken(ctx, "hash-none"); err != nil {
				t.Fatalf("DeleteToken: %v", err)
			}
		})
	})
}
