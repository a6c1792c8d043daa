package store_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// defaultPostgresURL is the server the suite uses when
// PARLEY_TEST_POSTGRES_URL is unset.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// forEachDB runs fn as the subtests "sqlite" and "postgres", each on a fresh,
// migrated database.
func forEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, openPostgres(t)) })
}

// forEachEmptyDB is forEachDB without the migrations, for tests of a
// migration on data written before it.
func forEachEmptyDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLiteEmpty(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, openPostgresEmpty(t)) })
}

// openSQLite opens and migrates a new SQLite file under t.TempDir().
func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	db := openSQLiteEmpty(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// openSQLiteEmpty opens a new SQLite file under t.TempDir(), unmigrated.
func openSQLiteEmpty(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func postgresURL() string {
	if u := os.Getenv("PARLEY_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultPostgresURL
}

// postgresProbe remembers whether the server answered, so an unreachable
// server costs one connection attempt, not one per test. It also creates
// the extension the migrations use: the tests' schemas share the
// database's extensions, and the migrations of parallel tests each
// creating it where it is missing would race (one of them fails on the
// extension's unique name); a server migrates one database once at a time.
var postgresProbe = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := store.Open(ctx, postgresURL())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public`); err != nil {
		return fmt.Errorf("create extension unaccent: %w", err)
	}
	return nil
})

// openPostgres creates a schema with a random name, opens the store with
// search_path set to it (pgx sends unknown URL parameters as run-time
// parameters), migrates it, and drops the schema at cleanup. An unreachable
// server fails the test when CI=true and skips it otherwise.
func openPostgres(t *testing.T) *store.DB {
	t.Helper()
	db := openPostgresEmpty(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return db
}

// openPostgresEmpty is openPostgres without the migrations.
func openPostgresEmpty(t *testing.T) *store.DB {
	t.Helper()
	base := postgresURL()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("PARLEY_TEST_POSTGRES_URL: %v", err)
	}
	if err := postgresProbe(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable and CI=true requires it: %v", u.Redacted(), err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (%v); start a server there or point PARLEY_TEST_POSTGRES_URL at one to run this half (CI=true makes it a failure)", u.Redacted(), err)
	}

	ctx := t.Context()
	admin, err := store.Open(ctx, base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "parley_test_" + model.NewID() // [0-9a-v]: a plain lower-case identifier
	if _, err := admin.SQL.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.SQL.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open postgres schema %s: %v", schema, err)
	}
	t.Cleanup(func() { db.Close() }) // runs before the DROP SCHEMA above

	// Every pooled connection must land in the schema, or tests would share
	// tables: make sure the parameter reached the server.
	var current string
	if err := db.SQL.QueryRowContext(ctx, "SELECT current_schema()").Scan(&current); err != nil {
		t.Fatalf("read current_schema: %v", err)
	}
	if current != schema {
		t.Fatalf("current_schema() = %q, want %q: search_path was not applied", current, schema)
	}
	return db
}
