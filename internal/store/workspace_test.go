package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestWorkspaceLookups(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := model.Workspace{
			ID:       model.NewID(),
			Name:     "Acme",
			SiteKey:  "site-acme",
			TimeZone: "Europe/Paris",
			Settings: model.Settings{
				EmailForwarding: model.ForwardTranscript,
				ContactForm:     model.ContactForm{OfflineRequiresForm: false, Online: "required"},
				Widget:          model.WidgetLook{Color: "#0a7c42", Position: model.WidgetLeft, Greeting: "Grüß Gott!", AwayMessage: "Bis gleich."},
				DefaultLocale:   "de",
			},
			AgentsUnavailableSince: new(at(time.Hour)),
			CreatedAt:              at(0),
		}
		if err := db.CreateWorkspace(ctx, w); err != nil {
			t.Fatalf("CreateWorkspace: %v", err)
		}
		want := w
		want.CreatedAt = stored(w.CreatedAt)
		want.AgentsUnavailableSince = storedPtr(w.AgentsUnavailableSince)

		for _, tc := range []struct {
			name    string
			get     func() (model.Workspace, error)
			wantErr error
		}{
			{"by id", func() (model.Workspace, error) { return db.Workspace(ctx, w.ID) }, nil},
			{"by site key", func() (model.Workspace, error) { w, _, err := db.SiteWorkspace(ctx, "site-acme"); return w, err }, nil},
			{"by name", func() (model.Workspace, error) { return db.WorkspaceByName(ctx, "Acme") }, nil},
			{"unknown id", func() (model.Workspace, error) { return db.Workspace(ctx, model.NewID()) }, store.ErrNotFound},
			{"unknown site key", func() (model.Workspace, error) { w, _, err := db.SiteWorkspace(ctx, "site-none"); return w, err }, store.ErrNotFound},
			{"unknown name", func() (model.Workspace, error) { return db.WorkspaceByName(ctx, "acme") }, store.ErrNotFound},
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
				check(t, "workspace", got, want)
			})
		}

		t.Run("duplicate site key", func(t *testing.T) {
			dup := w
			dup.ID = model.NewID()
			if err := db.CreateWorkspace(ctx, dup); err == nil {
				t.Fatal("CreateWorkspace with a taken site key: no error")
			}
		})
	})
}

func TestWorkspaceList(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		list, err := db.Workspaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 {
			t.Fatalf("Workspaces on an empty database = %d, want 0", len(list))
		}

		// Inserted out of creation order; two share a creation time (then
		// the id decides, whatever the insertion order) and two share a
		// name (then the first created wins).
		acme := newWorkspace(t, db, "Acme", at(time.Hour))
		oldest := newWorkspace(t, db, "Oldest", at(-time.Hour))
		lowID, highID := model.NewID(), model.NewID() // ids grow
		for _, id := range []string{highID, lowID} {
			w := model.Workspace{ID: id, Name: "Tie", SiteKey: "site-" + id, TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: at(2 * time.Hour)}
			if err := db.CreateWorkspace(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		firstAcme := newWorkspace(t, db, "Acme", at(0))

		list, err = db.Workspaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, w := range list {
			ids = append(ids, w.ID)
		}
		check(t, "Workspaces order", ids, []string{oldest.ID, firstAcme.ID, acme.ID, lowID, highID})

		got, err := db.WorkspaceByName(ctx, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		check(t, "WorkspaceByName picks the first created", got.ID, firstAcme.ID)
	})
}

func TestWorkspaceSettings(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for _, tc := range []struct {
			name     string
			settings model.Settings
		}{
			{"forwarding off, form hidden online", model.Settings{
				EmailForwarding: model.ForwardOff,
				ContactForm:     model.ContactForm{OfflineRequiresForm: true, Online: "hidden"},
			}},
			{"transcripts, no offline form", model.Settings{
				EmailForwarding: model.ForwardTranscript,
				ContactForm:     model.ContactForm{OfflineRequiresForm: false, Online: "required"},
			}},
			{"defaults", model.DefaultSettings()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := newWorkspace(t, db, "W", base)
				other := newWorkspace(t, db, "Other", base)
				if err := db.UpdateSettings(ctx, w.ID, tc.settings); err != nil {
					t.Fatalf("UpdateSettings: %v", err)
				}
				got, err := db.Workspace(ctx, w.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "settings", got.Settings, tc.settings)
				got, err = db.Workspace(ctx, other.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "settings of another workspace", got.Settings, model.DefaultSettings())
			})
		}

		t.Run("unknown workspace", func(t *testing.T) {
			err := db.UpdateSettings(ctx, model.NewID(), model.DefaultSettings())
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestAgentsUnavailableSince(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)
		// Steps run in order on the same workspace.
		for _, step := range []struct {
			name  string
			since *time.Time
		}{
			{"becomes unavailable", new(at(time.Minute))},
			{"moves", new(at(time.Hour))},
			{"available again", nil},
			{"unavailable once more", new(at(2 * time.Hour))},
		} {
			if err := db.SetAgentsUnavailableSince(ctx, w.ID, step.since); err != nil {
				t.Fatalf("%s: SetAgentsUnavailableSince: %v", step.name, err)
			}
			got, err := db.Workspace(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step.name, got.AgentsUnavailableSince, storedPtr(step.since))
		}
		got, err := db.Workspace(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "another workspace", got.AgentsUnavailableSince, nil)
	})
}
