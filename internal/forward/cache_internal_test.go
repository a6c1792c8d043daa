package forward

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/store/storetest"
)

func TestWorkspaceCacheKeepsAWorkspaceForASecond(t *testing.T) {
	ctx := t.Context()
	db := migratedDB(t)
	w := model.Workspace{ID: model.NewID(), Name: "W", SiteKey: "k", TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: time.Now()}
	if err := db.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	agentsOff := func(since *time.Time) {
		t.Helper()
		if err := db.SetAgentsUnavailableSince(ctx, w.ID, since); err != nil {
			t.Fatal(err)
		}
	}
	get := func(c *workspaceCache) model.Workspace {
		t.Helper()
		got, err := c.get(ctx, &db.Store, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	c := newWorkspaceCache()
	if got := get(c); got.AgentsUnavailableSince != nil {
		t.Fatalf("first read: %+v", got)
	}
	off := time.Now().UTC().Truncate(time.Second)
	agentsOff(&off)
	if got := get(c); got.AgentsUnavailableSince != nil {
		t.Errorf("within the second: read again, want the cached workspace")
	}
	if got := get(newWorkspaceCache()); got.AgentsUnavailableSince == nil {
		t.Errorf("a new batch's cache: stale workspace")
	}
	if got := get(nil); got.AgentsUnavailableSince == nil {
		t.Errorf("no cache: stale workspace")
	}
	c.m[w.ID] = cachedWorkspace{w: c.m[w.ID].w, read: time.Now().Add(-workspaceCacheFor)}
	if got := get(c); got.AgentsUnavailableSince == nil {
		t.Errorf("after a second: stale workspace")
	}
}

// migratedDB opens a new SQLite database with every migration applied,
// closed when the test ends (MigratedDB to the package's other tests).
func migratedDB(t testing.TB) *store.DB {
	t.Helper()
	return migratedDBAt(t, "sqlite:"+filepath.Join(t.TempDir(), "parley.db"))
}

// migratedDBAt is migratedDB for any database URL (MigratedDBAt outside
// the package).
func migratedDBAt(t testing.TB, url string) *store.DB {
	t.Helper()
	return storetest.Open(t, url)
}
