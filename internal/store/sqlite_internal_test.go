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

// openMigrated is openSQLite with Parley's schema.
func openMigrated(t *testing.T) *DB {
	t.Helper()
	db := openSQLite(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestWriterTempInMemory: the writer's connection keeps its temporary
// data in memory, the sub-journal of a batch's savepoints included,
// which SQLite would otherwise move to a file past 64 KiB (two system
// calls a page).
func TestWriterTempInMemory(t *testing.T) {
	db := openSQLite(t)
	var store int
	err := db.InTx(t.Context(), func(tx *Store) error {
		return tx.queryRow(t.Context(), `PRAGMA temp_store`).Scan(&store)
	})
	if err != nil {
		t.Fatal(err)
	}
	if store != 2 {
		t.Errorf("temp_store = %d on the writer's connection, want 2 (memory)", store)
	}
}
