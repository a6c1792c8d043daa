package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestVisitors(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)

		t.Run("create and get", func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				visitor model.Visitor
			}{
				{"anonymous", model.Visitor{EmailStatus: model.EmailOK, CreatedAt: at(0)}},
				{"identified and present", model.Visitor{
					Name:         new("Zoë"),
					Email:        new("zoe@example.org"),
					EmailStatus:  model.EmailOK, // the address's: nothing recorded for it
					Online:       true,
					LeftAt:       new(at(time.Minute)),
					LastActiveAt: new(at(2 * time.Minute)),
					CreatedAt:    at(0),
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					v := tc.visitor
					v.ID, v.WorkspaceID = model.NewID(), w.ID
					if err := db.CreateVisitor(ctx, v); err != nil {
						t.Fatalf("CreateVisitor: %v", err)
					}
					want := v
					want.LeftAt = storedPtr(v.LeftAt)
					want.LastActiveAt = storedPtr(v.LastActiveAt)
					want.CreatedAt = stored(v.CreatedAt)

					got, err := db.Visitor(ctx, w.ID, v.ID)
					if err != nil {
						t.Fatalf("Visitor: %v", err)
					}
					check(t, "Visitor", got, want)
					got, err = db.VisitorByID(ctx, v.ID)
					if err != nil {
						t.Fatalf("VisitorByID: %v", err)
					}
					check(t, "VisitorByID", got, want)
				})
			}
		})

		t.Run("not found", func(t *testing.T) {
			v := newVisitor(t, db, w.ID, nil)
			for _, tc := range []struct {
				name string
				get  func() (model.Visitor, error)
			}{
				{"other workspace", func() (model.Visitor, error) { return db.Visitor(ctx, other.ID, v.ID) }},
				{"unknown id", func() (model.Visitor, error) { return db.Visitor(ctx, w.ID, model.NewID()) }},
				{"unknown id, any workspace", func() (model.Visitor, error) { return db.VisitorByID(ctx, model.NewID()) }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if _, err := tc.get(); !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("err = %v, want ErrNotFound", err)
					}
				})
			}
		})

		t.Run("contact update", func(t *testing.T) {
			// The status belongs to the address: a visitor takes the
			// status of whatever address it has now.
			for i, tc := range []struct {
				name       string
				email      string // before ("" none)
				status     string // of the address before
				newEmail   string // "" for the same address in other letter cases
				wantStatus string
			}{
				{"first address", "", model.EmailBouncing, "bob%d@example.com", model.EmailOK},
				{"same address, bouncing", "ann%d@example.com", model.EmailBouncing, "", model.EmailBouncing},
				{"same address, unsubscribed", "ann%d@example.com", model.EmailUnsubscribed, "", model.EmailUnsubscribed},
				{"new address, was bouncing", "ann%d@example.com", model.EmailBouncing, "bob%d@example.com", model.EmailOK},
				{"new address, was unsubscribed", "ann%d@example.com", model.EmailUnsubscribed, "bob%d@example.com", model.EmailOK},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var before *string
					if tc.email != "" {
						before = new(fmt.Sprintf(tc.email, i))
					}
					v := newVisitor(t, db, w.ID, before)
					if before != nil {
						if _, err := db.StopEmailAddress(ctx, w.ID, *before, tc.status, "test", "", base); err != nil {
							t.Fatalf("StopEmailAddress: %v", err)
						}
					}
					after := strings.ToUpper(fmt.Sprintf(tc.email, i))
					if tc.newEmail != "" {
						after = fmt.Sprintf(tc.newEmail, i)
					}
					v.Name, v.Email = new("Ann"), &after
					if err := db.UpdateVisitorContact(ctx, v); err != nil {
						t.Fatalf("UpdateVisitorContact: %v", err)
					}
					got, err := db.Visitor(ctx, w.ID, v.ID)
					if err != nil {
						t.Fatal(err)
					}
					check(t, "name", got.Name, v.Name)
					check(t, "email", got.Email, v.Email)
					check(t, "email_status", got.EmailStatus, tc.wantStatus)
				})
			}

			t.Run("other workspace", func(t *testing.T) {
				v := newVisitor(t, db, w.ID, new("ann@example.com"))
				stranger := v
				stranger.WorkspaceID = other.ID
				stranger.Email = new("mallory@example.com")
				if err := db.UpdateVisitorContact(ctx, stranger); err != nil {
					t.Fatalf("UpdateVisitorContact: %v", err)
				}
				got, err := db.Visitor(ctx, w.ID, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "email", got.Email, v.Email)
			})
		})

		t.Run("presence", func(t *testing.T) {
			v := newVisitor(t, db, w.ID, nil)
			online := func(d time.Duration) func() error {
				return func() error {
					got, returning, err := db.SetVisitorOnline(ctx, v.ID, at(d))
					if err == nil && (got.ID != v.ID || !got.Online || returning) {
						err = fmt.Errorf("SetVisitorOnline answered %+v, returning %v", got, returning)
					}
					return err
				}
			}
			left := func(d time.Duration) func() error {
				return func() error { return db.SetVisitorLeft(ctx, v.ID, at(d)) }
			}
			touch := func(d time.Duration) func() error {
				return func() error { return db.TouchVisitor(ctx, v.ID, at(d)) }
			}
			// Steps run in order on the same visitor; times only move forward.
			for _, step := range []struct {
				name       string
				do         func() error
				wantOnline bool
				wantActive *time.Time
				wantLeft   *time.Time
			}{
				{"connects", online(10 * time.Minute), true, new(at(10 * time.Minute)), nil},
				{"stale activity", touch(5 * time.Minute), true, new(at(10 * time.Minute)), nil},
				{"activity", touch(20 * time.Minute), true, new(at(20 * time.Minute)), nil},
				{"same activity again", touch(20 * time.Minute), true, new(at(20 * time.Minute)), nil},
				{"stale connection", online(15 * time.Minute), true, new(at(20 * time.Minute)), nil},
				{"leaves", left(30 * time.Minute), false, new(at(20 * time.Minute)), new(at(30 * time.Minute))},
				{"stale leave", left(25 * time.Minute), false, new(at(20 * time.Minute)), new(at(30 * time.Minute))},
				{"comes back", online(40 * time.Minute), true, new(at(40 * time.Minute)), new(at(30 * time.Minute))},
				{"leaves again", left(50 * time.Minute), false, new(at(40 * time.Minute)), new(at(50 * time.Minute))},
			} {
				if err := step.do(); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				got, err := db.Visitor(ctx, w.ID, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, step.name+": online", got.Online, step.wantOnline)
				check(t, step.name+": last_active_at", got.LastActiveAt, storedPtr(step.wantActive))
				check(t, step.name+": left_at", got.LeftAt, storedPtr(step.wantLeft))
			}
		})
	})
}

// TestOnlineVisitorIDs has a database of its own: the query spans every
// workspace.
func TestOnlineVisitorIDs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		got, err := db.OnlineVisitorIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("OnlineVisitorIDs on an empty database = %v", got)
		}

		w1 := newWorkspace(t, db, "One", base)
		w2 := newWorkspace(t, db, "Two", base)
		createdOnline := model.Visitor{ID: model.NewID(), WorkspaceID: w2.ID, EmailStatus: model.EmailOK, Online: true, CreatedAt: base}
		if err := db.CreateVisitor(ctx, createdOnline); err != nil {
			t.Fatal(err)
		}
		connected := newVisitor(t, db, w1.ID, nil)
		gone := newVisitor(t, db, w1.ID, nil)
		newVisitor(t, db, w2.ID, nil) // never connected
		online := func(id string) error {
			_, _, err := db.SetVisitorOnline(ctx, id, at(time.Minute))
			return err
		}
		for _, err := range []error{
			online(connected.ID),
			online(gone.ID),
			db.SetVisitorLeft(ctx, gone.ID, at(2*time.Minute)),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}

		got, err = db.OnlineVisitorIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		want := []string{createdOnline.ID, connected.ID}
		slices.Sort(want)
		check(t, "OnlineVisitorIDs", got, want)
	})
}

// A visitor's language is kept.
func TestVisitorLanguage(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: at(0)}
		if err := db.CreateVisitor(ctx, v); err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"", "fr", "de", "pt"} {
			if lang != "" {
				if err := db.SetVisitorLanguage(ctx, v.ID, lang); err != nil {
					t.Fatal(err)
				}
			}
			got, err := db.Visitor(ctx, w.ID, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Language != lang {
				t.Errorf("language %q, want %q", got.Language, lang)
			}
		}
	})
}
