package store_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/parleychat/parley/internal/store"
)

// A database migrated by a newer build (a version this one does not know)
// is refused at start, with what to do, rather than used by statements
// that may not fit its tables.
func TestMigrateRefusesANewerSchema(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var newest int64
		if err := db.QueryRow(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&newest); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrating a current database again: %v", err)
		}
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (`+strconv.FormatInt(newest+1, 10)+`, true)`); err != nil {
			t.Fatal(err)
		}
		err := db.Migrate(ctx)
		if !errors.Is(err, store.ErrSchemaNewer) {
			t.Fatalf("Migrate on a newer schema: %v, want ErrSchemaNewer", err)
		}
		t.Log(err)
	})
}
