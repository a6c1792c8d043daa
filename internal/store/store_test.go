package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"mysql://localhost/parley", "sqlite:", "data/parley.db"} {
		t.Run("rejects "+url, func(t *testing.T) {
			if db, err := store.Open(t.Context(), url); err == nil {
				db.Close()
				t.Fatalf("Open(%q): no error", url)
			}
		})
	}

	t.Run("creates the sqlite directory", func(t *testing.T) {
		db, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "a", "b", "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})

	forEachDB(t, func(t *testing.T, db *store.DB) {
		want := store.SQLite
		if strings.HasSuffix(t.Name(), "/postgres") {
			want = store.Postgres
		}
		check(t, "Dialect", db.Dialect(), want)
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate on a migrated database: %v", err)
		}
	})
}

func TestMeta(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		got, err := db.GetMeta(ctx, "instance_id")
		if err != nil {
			t.Fatal(err)
		}
		check(t, "unset key", got, "")

		// Steps run in order: the first value stored under a key wins.
		for _, step := range []struct{ key, value, want string }{
			{"instance_id", "first", "first"},
			{"instance_id", "second", "first"},
			{"secret", "s3cr3t", "s3cr3t"},
			{"instance_id", "", "first"},
		} {
			got, err := db.SetMetaIfAbsent(ctx, step.key, step.value)
			if err != nil {
				t.Fatalf("SetMetaIfAbsent(%q, %q): %v", step.key, step.value, err)
			}
			check(t, fmt.Sprintf("SetMetaIfAbsent(%q, %q)", step.key, step.value), got, step.want)
			got, err = db.GetMeta(ctx, step.key)
			if err != nil {
				t.Fatal(err)
			}
			check(t, fmt.Sprintf("GetMeta(%q)", step.key), got, step.want)
		}

		t.Run("concurrent first starts agree", func(t *testing.T) {
			const n = 8
			var (
				wg   sync.WaitGroup
				got  [n]string
				errs [n]error
			)
			for i := range n {
				wg.Go(func() { got[i], errs[i] = db.SetMetaIfAbsent(ctx, "race", fmt.Sprint("value-", i)) })
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("SetMetaIfAbsent #%d: %v", i, errs[i])
				}
				if got[i] != got[0] {
					t.Fatalf("SetMetaIfAbsent returned %q and %q", got[0], got[i])
				}
			}
		})
	})
}

func TestInTx(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		taken := newAgent(t, db, w.ID, model.StatusOffline, nil)

		for _, tc := range []struct {
			name string
			// last runs after the writes; its error ends the transaction.
			last     func(tx *store.Store) error
			wantErr  error
			wantKept bool
		}{
			{"commit", func(*store.Store) error { return nil }, nil, true},
			{"callback fails", func(*store.Store) error { return errBoom }, errBoom, false},
			{"statement fails", func(tx *store.Store) error {
				dup := taken
				dup.ID = model.NewID()
				return tx.CreateAgent(ctx, dup)
			}, store.ErrDuplicate, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: base}
				c := model.Conversation{ID: model.NewID(), WorkspaceID: w.ID, Status: "open", Channel: model.ChannelWebsite,
					Visitor: v, CreatedAt: base, LastMessageAt: base}
				m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, Author: model.Author{Kind: model.AuthorVisitor},
					Kind: model.KindReply, Channel: model.MsgChannelWidget, Body: "hi", CreatedAt: base}
				err := db.InTx(ctx, func(tx *store.Store) error {
					if err := tx.CreateVisitor(ctx, v); err != nil {
						return err
					}
					if err := tx.CreateConversation(ctx, c); err != nil {
						return err
					}
					if err := tx.CreateMessage(ctx, m); err != nil {
						return err
					}
					if _, err := tx.Conversation(ctx, w.ID, c.ID); err != nil {
						return fmt.Errorf("the transaction does not see its own write: %w", err)
					}
					return tc.last(tx)
				})
				if !errors.Is(err, tc.wantErr) { // errors.Is(nil, nil) holds
					t.Fatalf("InTx: err = %v, want %v", err, tc.wantErr)
				}

				for what, get := range map[string]func() error{
					"visitor":      func() error { _, err := db.Visitor(ctx, w.ID, v.ID); return err },
					"conversation": func() error { _, err := db.Conversation(ctx, w.ID, c.ID); return err },
					"message":      func() error { _, err := db.Message(ctx, w.ID, m.ID); return err },
				} {
					err := get()
					switch {
					case tc.wantKept && err != nil:
						t.Errorf("%s after commit: %v", what, err)
					case !tc.wantKept && !errors.Is(err, store.ErrNotFound):
						t.Errorf("%s after rollback: err = %v, want ErrNotFound", what, err)
					}
				}
			})
		}
	})
}

// TestTimes checks that every kind of time column keeps microseconds and
// reads back in UTC, whatever the zone it was written in.
func TestTimes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		for _, tc := range []struct {
			name string
			at   time.Time
		}{
			{"nanoseconds dropped", time.Date(2025, 6, 1, 10, 0, 0, 999999999, time.UTC)},
			{"zone converted to UTC", time.Date(2025, 12, 31, 23, 59, 59, 1000, time.FixedZone("UTC-11", -11*60*60))},
			{"whole microseconds kept", time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)},
			{"local zone", time.Date(2024, 2, 29, 12, 0, 0, 500, time.Local)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := tc.at.Truncate(time.Microsecond).In(time.UTC)
				v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK,
					LeftAt: &tc.at, LastActiveAt: &tc.at, CreatedAt: tc.at}
				if err := db.CreateVisitor(ctx, v); err != nil {
					t.Fatal(err)
				}
				got, err := db.Visitor(ctx, w.ID, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range []struct {
					name string
					got  time.Time
				}{
					{"created_at", got.CreatedAt},
					{"left_at", *got.LeftAt},
					{"last_active_at", *got.LastActiveAt},
				} {
					if !f.got.Equal(want) || f.got.Location() != time.UTC {
						t.Errorf("%s = %s, want %s", f.name, f.got.Format(time.RFC3339Nano+" MST"), want.Format(time.RFC3339Nano+" MST"))
					}
				}
			})
		}
	})
}

// TestWarnings reads the server's own settings: SQLite has nothing to
// say, and PostgreSQL warns exactly when autovacuum cannot run.
func TestWarnings(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		got, err := db.Warnings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == store.SQLite {
			if len(got) != 0 {
				t.Fatalf("SQLite warned %q", got)
			}
			return
		}
		var autovacuum, trackCounts string
		if err := db.QueryRow(t.Context(), `SELECT current_setting('autovacuum'), current_setting('track_counts')`).Scan(&autovacuum, &trackCounts); err != nil {
			t.Fatal(err)
		}
		if off := autovacuum == "off" || trackCounts == "off"; off != (len(got) == 1) {
			t.Fatalf("autovacuum=%s track_counts=%s: warnings %q", autovacuum, trackCounts, got)
		}
	})
}
