package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestConcurrentTransactions writes many transactions at once, as requests
// do (on SQLite they commit in batches): each caller gets its own outcome,
// what was acknowledged is in the database file after it is closed and
// opened again, what failed left nothing, and the after functions ran in
// the order of the rows.
func TestConcurrentTransactions(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	const writers = 120
	// outcome of writer i: commits, fails in its function after writing,
	// repeats a client id (a failing statement), or panics after writing.
	type outcome int
	const (
		commits outcome = iota
		fails
		duplicate
		panics
	)
	outcomeOf := func(i int) outcome {
		switch {
		case i%11 == 5:
			return panics
		case i%7 == 3:
			return duplicate
		case i%5 == 1:
			return fails
		}
		return commits
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var db *store.DB
			var path string
			if name == "sqlite" {
				path = filepath.Join(t.TempDir(), "parley.db")
				var err error
				if db, err = store.Open(t.Context(), "sqlite:"+path); err != nil {
					t.Fatal(err)
				}
				if err := db.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
			} else {
				db = openPostgres(t)
			}
			ctx := t.Context()
			w := newWorkspace(t, db, "W", base)
			c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
			taken := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, Author: model.Author{Kind: model.AuthorVisitor},
				Kind: model.KindReply, Channel: model.MsgChannelWidget, Body: "first", ClientID: new("taken"), CreatedAt: base}
			if err := db.CreateMessage(ctx, taken); err != nil {
				t.Fatal(err)
			}

			var (
				mu        sync.Mutex
				published []string // message ids, in the order the after functions ran
				errs      = make([]error, writers)
				ids       = make([]string, writers)
				recovered = make([]any, writers)
				start     = make(chan struct{})
				wg        sync.WaitGroup
			)
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { recovered[i] = recover() }()
					<-start
					errs[i] = db.InTxThen(ctx, func(tx *store.Store) error {
						// The id is made in the transaction: the rows' order
						// is the order transactions ran in.
						m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, Author: model.Author{Kind: model.AuthorVisitor},
							Kind: model.KindReply, Channel: model.MsgChannelWidget, Body: fmt.Sprintf("m%d", i), CreatedAt: base}
						if outcomeOf(i) == duplicate {
							m.ClientID = new("taken")
						}
						ids[i] = m.ID
						if err := tx.CreateMessage(ctx, m); err != nil {
							return err
						}
						switch outcomeOf(i) {
						case fails:
							return errBoom
						case panics:
							panic("writer panicked")
						}
						return nil
					}, func() {
						mu.Lock()
						published = append(published, ids[i])
						mu.Unlock()
					})
				}()
			}
			close(start)
			wg.Wait()

			want := map[string]bool{taken.ID: true}
			for i := range writers {
				var wantErr error
				switch outcomeOf(i) {
				case fails:
					wantErr = errBoom
				case duplicate:
					wantErr = store.ErrDuplicate
				}
				if outcomeOf(i) == panics {
					if recovered[i] != "writer panicked" {
						t.Errorf("writer %d: recovered %v, want its own panic", i, recovered[i])
					}
					continue
				}
				if recovered[i] != nil {
					t.Errorf("writer %d panicked: %v", i, recovered[i])
				}
				if !errors.Is(errs[i], wantErr) {
					t.Errorf("writer %d: err = %v, want %v", i, errs[i], wantErr)
				}
				if wantErr == nil {
					want[ids[i]] = true
				}
			}

			if name == "sqlite" {
				// Acknowledged means in the file: read it from a new handle.
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				var err error
				if db, err = store.Open(t.Context(), "sqlite:"+path); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
			}
			ms, err := db.Messages(ctx, w.ID, c.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			var stored []string
			for _, m := range ms {
				if !want[m.ID] {
					t.Errorf("message %q (%s) is stored, but its transaction failed", m.Body, m.ID)
				}
				stored = append(stored, m.ID)
			}
			if len(stored) != len(want) {
				t.Errorf("%d messages stored, want the %d acknowledged", len(stored), len(want))
			}
			if len(published) != len(want)-1 {
				t.Errorf("%d after functions ran, want one per acknowledged transaction (%d)", len(published), len(want)-1)
			}
			if name == "sqlite" {
				// One writer: events leave in the order of the rows.
				if !slices.Equal(published, stored[1:]) {
					t.Errorf("after functions ran in the order\n%v\nrows are in the order\n%v", published, stored[1:])
				}
			}
		})
	}
}

// TestTransactionCancelledBeforeItRuns: a caller gone before its
// transaction started writes nothing, and the database goes on.
func TestTransactionCancelledBeforeItRuns(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "W", base)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ran := false
		err := db.InTx(ctx, func(tx *store.Store) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("InTx with a cancelled context: err = %v, want context.Canceled", err)
		}
		if ran {
			t.Error("the function of a cancelled transaction ran")
		}
		c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		if _, err := db.Conversation(t.Context(), w.ID, c.ID); err != nil {
			t.Fatalf("write after a cancelled transaction: %v", err)
		}
	})
}

// TestTransactionAfterClose: a transaction queued after Close is refused
// instead of waiting for ever.
func TestTransactionAfterClose(t *testing.T) {
	t.Parallel()
	db := openSQLite(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(t.Context(), func(*store.Store) error { return nil }); err == nil {
		t.Fatal("InTx after Close succeeded")
	}
}

// The database counts the statements it runs and its commits: a read is a
// statement, a write alone a statement and a commit, a transaction its
// statements and one commit, one that fails no commit.
func TestCounts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, nil)
		errBoom := errors.New("boom")
		tests := []struct {
			name                        string
			run                         func() error
			wantStatements, wantCommits int64
		}{
			{"a read", func() error { _, err := db.VisitorByID(ctx, v.ID); return err }, 1, 0},
			{"a write alone", func() error { return db.TouchVisitor(ctx, v.ID, at(time.Minute)) }, 1, 1},
			{"a transaction of two writes and a read", func() error {
				return db.InTx(ctx, func(tx *store.Store) error {
					if err := tx.TouchVisitor(ctx, v.ID, at(2*time.Minute)); err != nil {
						return err
					}
					if _, err := tx.VisitorByID(ctx, v.ID); err != nil {
						return err
					}
					return tx.TouchVisitor(ctx, v.ID, at(3*time.Minute))
				})
			}, 3, 1},
			{"a transaction that fails", func() error {
				err := db.InTx(ctx, func(tx *store.Store) error {
					if err := tx.TouchVisitor(ctx, v.ID, at(4*time.Minute)); err != nil {
						return err
					}
					return errBoom
				})
				if errors.Is(err, errBoom) {
					return nil
				}
				return fmt.Errorf("transaction: %v, want %v", err, errBoom)
			}, 1, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s0, c0 := db.Counts()
				if err := tt.run(); err != nil {
					t.Fatal(err)
				}
				s1, c1 := db.Counts()
				if s1-s0 != tt.wantStatements || c1-c0 != tt.wantCommits {
					t.Errorf("ran %d statements and %d commits, want %d and %d", s1-s0, c1-c0, tt.wantStatements, tt.wantCommits)
				}
			})
		}
	})
}

// TestWriterWatch: SQLite's writer tells each transaction's wait and each
// batch it commits; transactions queued behind a long one are told once
// each, in batches that add up to them and are the commits counted.
// PostgreSQL has no such writer.
func TestWriterWatch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var (
			mu               sync.Mutex
			waits, batches   int
			inBatches, worst int
			negative         bool
		)
		watched := db.WatchWriter(store.WriterWatch{
			Waited: func(d time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				waits++
				negative = negative || d < 0
			},
			Ran: func(n int, d time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				batches++
				inBatches += n
				worst = max(worst, n)
				negative = negative || d < 0
			},
		})
		if db.Dialect() == store.Postgres {
			if watched {
				t.Error("PostgreSQL: a writer watched; want none")
			}
			return
		}
		if !watched {
			t.Fatal("SQLite: the writer not watched")
		}
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, nil)
		mu.Lock()
		waits, batches, inBatches = 0, 0, 0
		mu.Unlock()
		_, c0 := db.Counts()

		const queued = 20
		running, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := db.InTx(ctx, func(tx *store.Store) error {
				close(running)
				<-release
				return tx.TouchVisitor(ctx, v.ID, at(time.Minute))
			}); err != nil {
				t.Error(err)
			}
		})
		<-running
		for i := range queued {
			wg.Go(func() {
				if err := db.TouchVisitor(ctx, v.ID, at(time.Duration(i+2)*time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
		// The others queue while the first holds the writer.
		time.Sleep(50 * time.Millisecond)
		close(release)
		wg.Wait()

		_, c1 := db.Counts()
		mu.Lock()
		defer mu.Unlock()
		if waits != queued+1 || inBatches != queued+1 {
			t.Errorf("told %d waits and %d transactions in batches, want %d each", waits, inBatches, queued+1)
		}
		if int64(batches) != c1-c0 {
			t.Errorf("told %d batches, counted %d commits: want the same", batches, c1-c0)
		}
		if worst < 2 {
			t.Errorf("largest batch %d transactions: the ones queued behind the first were not committed together", worst)
		}
		if negative {
			t.Error("a negative duration told")
		}
	})
}
