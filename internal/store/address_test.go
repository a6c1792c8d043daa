package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// The email status belongs to the address in the workspace: every visitor
// with it in any letter case shares it, other workspaces do not.
func TestEmailAddressStatus(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		other := newWorkspace(t, db, "Other", base)
		older := newVisitor(t, db, w.ID, new("Vera@Example.NET"))
		newer := newVisitor(t, db, w.ID, new("vera@example.net"))
		stranger := newVisitor(t, db, other.ID, new("vera@example.net"))
		bob := newVisitor(t, db, w.ID, new("bob@example.net"))

		status := func(t *testing.T, v model.Visitor) model.Visitor {
			t.Helper()
			got, err := db.Visitor(ctx, v.WorkspaceID, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The conversation scan reads the same join.
			c := newConversation(t, db, v, model.ChannelWebsite, base)
			gc, err := db.Conversation(ctx, v.WorkspaceID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "status through the conversation", gc.Visitor.EmailStatus, got.EmailStatus)
			return got
		}

		steps := []struct {
			name        string
			do          func() (bool, error)
			wantChanged bool
			want        map[string]string // visitor id → status
			wantSource  string            // of vera's address
		}{
			{"nothing recorded", func() (bool, error) { return false, nil }, false,
				map[string]string{older.ID: "ok", newer.ID: "ok", stranger.ID: "ok", bob.ID: "ok"}, ""},
			{"unsubscribe in capitals covers both visitors", func() (bool, error) {
				return db.StopEmailAddress(ctx, w.ID, " VERA@example.net ", model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", at(time.Minute))
			}, true, map[string]string{older.ID: "unsubscribed", newer.ID: "unsubscribed", stranger.ID: "ok", bob.ID: "ok"}, "unsubscribe"},
			{"the same unsubscribe again changes nothing", func() (bool, error) {
				return db.StopEmailAddress(ctx, w.ID, "vera@example.net", model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", at(2*time.Minute))
			}, false, map[string]string{older.ID: "unsubscribed", newer.ID: "unsubscribed"}, "unsubscribe"},
			{"a bounce does not replace the unsubscribe", func() (bool, error) {
				return db.StopEmailAddress(ctx, w.ID, "vera@example.net", model.EmailBouncing, model.EmailStatusByBounce, "5.1.1", at(3*time.Minute))
			}, false, map[string]string{older.ID: "unsubscribed", newer.ID: "unsubscribed"}, "unsubscribe"},
			{"opt-in", func() (bool, error) {
				return true, db.OptInEmailAddress(ctx, w.ID, "vera@EXAMPLE.net", at(4*time.Minute))
			}, true, map[string]string{older.ID: "ok", newer.ID: "ok", stranger.ID: "ok"}, "opt_in"},
			{"a bounce covers both", func() (bool, error) {
				return db.StopEmailAddress(ctx, w.ID, "vera@example.net", model.EmailBouncing, model.EmailStatusByBounce, "5.1.1 no such user", at(5*time.Minute))
			}, true, map[string]string{older.ID: "bouncing", newer.ID: "bouncing", stranger.ID: "ok"}, "bounce"},
			{"an unsubscribe replaces a bounce", func() (bool, error) {
				return db.StopEmailAddress(ctx, w.ID, "vera@example.net", model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", at(6*time.Minute))
			}, true, map[string]string{older.ID: "unsubscribed", newer.ID: "unsubscribed"}, "unsubscribe"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				changed, err := st.do()
				if err != nil {
					t.Fatal(err)
				}
				check(t, "changed", changed, st.wantChanged)
				for _, v := range []model.Visitor{older, newer, stranger, bob} {
					want, ok := st.want[v.ID]
					if !ok {
						continue
					}
					check(t, "status of "+*v.Email+" in "+v.WorkspaceID, status(t, v).EmailStatus, want)
				}
				check(t, "source", status(t, older).EmailStatusSource, st.wantSource)
			})
		}

		t.Run("a future visitor with the address", func(t *testing.T) {
			v := newVisitor(t, db, w.ID, new("VERA@EXAMPLE.NET"))
			got := status(t, v)
			check(t, "status", got.EmailStatus, model.EmailUnsubscribed)
			check(t, "changed at", got.EmailStatusChangedAt, new(stored(at(6*time.Minute))))
		})

		t.Run("opt-in time is kept", func(t *testing.T) {
			if err := db.OptInEmailAddress(ctx, w.ID, "vera@example.net", at(7*time.Minute)); err != nil {
				t.Fatal(err)
			}
			a, err := db.EmailAddress(ctx, w.ID, "Vera@Example.NET")
			if err != nil {
				t.Fatal(err)
			}
			check(t, "opt_in_at", a.OptInAt, new(stored(at(7*time.Minute))))
			check(t, "status", a.Status, model.EmailOK)
			byID, err := db.EmailAddressByID(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "by id", byID, a)
			ids, err := db.VisitorIDsWithEmail(ctx, w.ID, "VERA@example.net")
			if err != nil {
				t.Fatal(err)
			}
			check(t, "visitors with the address", len(ids), 3)
		})

		t.Run("ensure creates a new address with the id given", func(t *testing.T) {
			for _, inTx := range []bool{false, true} {
				id, addr := model.NewID(), fmt.Sprintf("New.%v@example.net", inTx)
				var (
					a   store.EmailAddress
					err error
				)
				if inTx {
					err = db.InTx(ctx, func(tx *store.Store) error {
						a, err = tx.EnsureEmailAddressAs(ctx, w.ID, addr, id, at(time.Hour))
						return err
					})
				} else {
					a, err = db.EnsureEmailAddressAs(ctx, w.ID, addr, id, at(time.Hour))
				}
				if err != nil {
					t.Fatal(err)
				}
				want := store.EmailAddress{ID: id, WorkspaceID: w.ID, Address: strings.ToLower(addr), Status: model.EmailOK, CreatedAt: at(time.Hour).UTC().Truncate(time.Microsecond)}
				check(t, fmt.Sprintf("new address (in a transaction: %v)", inTx), a, want)
				stored, err := db.EmailAddress(ctx, w.ID, addr)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "stored", stored, want)
				again, err := db.EnsureEmailAddressAs(ctx, w.ID, addr, model.NewID(), at(2*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				check(t, "ensured again", again, want)
			}
		})

		t.Run("ensure keeps the existing row", func(t *testing.T) {
			a, err := db.EnsureEmailAddress(ctx, w.ID, "vera@example.net", at(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			b, err := db.EnsureEmailAddress(ctx, w.ID, "VERA@example.net", at(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			check(t, "same row", b, a)
			if _, err := db.EmailAddress(ctx, w.ID, "nobody@example.net"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown address: %v, want ErrNotFound", err)
			}
			if _, err := db.StopEmailAddress(ctx, w.ID, "x@example.net", model.EmailOK, "", "", base); err == nil {
				t.Error("StopEmailAddress took status ok")
			}
		})
	})
}

// An unsubscribe gives up the emails to the address still in the outbox,
// whatever the case they were addressed in, and only those.
func TestCancelQueuedEmailsTo(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		vera := newVisitor(t, db, w.ID, new("Vera@Example.NET"))
		bob := newVisitor(t, db, w.ID, new("bob@example.net"))
		var ids []string
		for i, v := range []model.Visitor{vera, bob} {
			c := newConversation(t, db, v, model.ChannelWebsite, base)
			reply := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "hello")
			e := store.Email{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, VisitorID: v.ID,
				MessageID: fmt.Sprintf("<%d@example.test>", i), From: "parley@example.test", To: *v.Email,
				Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: base, CreatedAt: base}
			if err := db.CreateEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
			if err := db.MarkForwarded(ctx, []string{reply.ID}, e.ID, e.To, base); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID, reply.ID)
		}
		replies, err := db.CancelQueuedEmailsTo(ctx, w.ID, "vera@example.net", "not sent: address unsubscribed", at(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "replies", replies, []string{ids[1]})
		for i, want := range []string{"failed", "queued"} {
			e, err := db.Email(ctx, ids[2*i])
			if err != nil {
				t.Fatal(err)
			}
			check(t, "email status", e.Status, want)
		}
	})
}

// Migration 00014 moves the status kept on visitor records before it to
// the address, normalised in Go on both databases.
func TestAddressMigration(t *testing.T) {
	t.Parallel()
	forEachEmptyDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.MigrateUpTo(ctx, 13); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO workspaces (id, name, site_key, created_at) VALUES ('w1', 'Acme', 'k1', 0), ('w2', 'Other', 'k2', 0)`); err != nil {
			t.Fatal(err)
		}
		rows := []struct{ id, ws, email, status string }{
			{"v1", "w1", "Vera@Example.NET", "unsubscribed"},
			{"v2", "w1", "vera@example.net", "bouncing"},
			{"v3", "w1", "ÉLODIE@example.net", "bouncing"},
			{"v4", "w2", "vera@example.net", "ok"},
			{"v5", "w1", "ann@example.net", "ok"},
		}
		for _, r := range rows {
			if _, err := db.SQL.ExecContext(ctx, rebind(db, `INSERT INTO visitors (id, workspace_id, email, email_status, created_at) VALUES (?, ?, ?, ?, 0)`),
				r.id, r.ws, r.email, r.status); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO visitors (id, workspace_id, created_at) VALUES ('v6', 'w1', 0)`); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"v1": "unsubscribed", "v2": "unsubscribed", "v3": "bouncing", "v4": "ok", "v5": "ok", "v6": "ok"} {
			ws := "w1"
			if id == "v4" {
				ws = "w2"
			}
			v, err := db.Visitor(ctx, ws, id)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "status of "+id, v.EmailStatus, want)
		}
		// A new visitor typing the address in other capitals is covered.
		v := newVisitor(t, db, "w1", new("élodie@EXAMPLE.net"))
		got, err := db.Visitor(ctx, "w1", v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "status of a new visitor", got.EmailStatus, model.EmailBouncing)
	})
}

func rebind(db *store.DB, q string) string {
	if db.Dialect() != store.Postgres {
		return q
	}
	n := 0
	out := make([]byte, 0, len(q)+8)
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

// A notice goes to an address at most once in the interval, and never to
// one that receives no emails.
func TestClaimAddressNotice(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		vera, err := db.EnsureEmailAddress(ctx, w.ID, "vera@example.net", base)
		if err != nil {
			t.Fatal(err)
		}
		gone, err := db.EnsureEmailAddress(ctx, w.ID, "gone@example.net", base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.StopEmailAddress(ctx, w.ID, "gone@example.net", model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", base); err != nil {
			t.Fatal(err)
		}
		day := 24 * time.Hour
		tests := []struct {
			name string
			id   string
			at   time.Duration // after base
			want bool
		}{
			{"first notice", vera.ID, 0, true},
			{"an hour later", vera.ID, time.Hour, false},
			{"just under a day later", vera.ID, day - time.Second, false},
			{"a day later", vera.ID, day, true},
			{"unsubscribed address", gone.ID, 0, false},
			{"unsubscribed address, a day later", gone.ID, day, false},
		}
		for _, tt := range tests {
			now := base.Add(tt.at)
			got, err := db.ClaimAddressNotice(ctx, tt.id, now, now.Add(-day))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got != tt.want {
				t.Errorf("%s: may notify %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}
