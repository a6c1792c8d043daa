package store_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestAccountsGeneration: every write of a workspace, an agent or an
// agent's token changes the generation once it committed, and nothing else
// does: what was read of them may be kept while it stays the same.
func TestAccountsGeneration(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		a := newAgent(t, db, w.ID, model.StatusOnline, nil)
		v := newVisitor(t, db, w.ID, nil)
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		if err := db.CreateToken(ctx, "t1", a.ID, base, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			write   func() error
			changes bool
		}{
			{"status", func() error { return db.SetAgentStatus(ctx, a.ID, model.StatusOffline) }, true},
			{"name and role", func() error { return db.UpdateAgentProfile(ctx, a.ID, "Ann", model.RoleAgent) }, true},
			{"password", func() error { return db.SetAgentPassword(ctx, a.ID, "hash") }, true},
			{"a token created", func() error { return db.CreateToken(ctx, "t2", a.ID, base, base.Add(time.Hour)) }, true},
			{"a token deleted", func() error { return db.DeleteToken(ctx, "t1") }, true},
			{"an agent's tokens deleted", func() error { return db.DeleteAgentTokens(ctx, a.ID, "") }, true},
			{"a dashboard closed", func() error { return db.SetAgentDisconnectedAt(ctx, a.ID, &base) }, true},
			{"settings", func() error {
				st := w.Settings
				st.ContactForm.OfflineRequiresForm = !st.ContactForm.OfflineRequiresForm
				return db.UpdateSettings(ctx, w.ID, st)
			}, true},
			{"availability", func() error { return db.SetAgentsUnavailableSince(ctx, w.ID, &base) }, true},
			{"workspace name", func() error { return db.RenameWorkspace(ctx, w.ID, "Acme Inc") }, true},
			{"in a transaction", func() error {
				return db.InTx(ctx, func(tx *store.Store) error {
					before := db.AccountsGeneration()
					if err := tx.SetAgentStatus(ctx, a.ID, model.StatusOnline); err != nil {
						return err
					}
					if db.AccountsGeneration() != before {
						t.Error("changed before the commit")
					}
					return nil
				})
			}, true},
			{"a reply", func() error {
				return db.InTx(ctx, func(tx *store.Store) error {
					_, _, err := tx.CreateReply(ctx, c, model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
						Author: model.Author{Kind: model.AuthorAgent, ID: &a.ID}, Kind: model.KindReply,
						Channel: model.MsgChannelDashboard, Body: "Hi", CreatedAt: base}, true)
					return err
				})
			}, false},
			{"a visitor's message", func() error {
				return db.InTx(ctx, func(tx *store.Store) error {
					_, _, err := tx.CreateVisitorMessage(ctx, c, model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
						Author: model.Author{Kind: model.AuthorVisitor, ID: &v.ID}, Kind: model.KindReply,
						Channel: model.MsgChannelWidget, Body: "Hello", CreatedAt: base})
					return err
				})
			}, false},
			{"a visitor", func() error { newVisitor(t, db, w.ID, nil); return nil }, false},
			{"an agent read", func() error { _, err := db.Agent(ctx, a.ID); return err }, false},
		}
		for _, tt := range tests {
			before := db.AccountsGeneration()
			if err := tt.write(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if changed := db.AccountsGeneration() != before; changed != tt.changes {
				t.Errorf("%s: generation changed %v; want %v", tt.name, changed, tt.changes)
			}
		}
	})
}
