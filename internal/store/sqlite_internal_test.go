package store

import (
	"path/filepath"
	"testing"
)

// openSQLite opens a new SQLite database in a temporary folder, closed
// when the test ends; it is not migrated.
func openSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
