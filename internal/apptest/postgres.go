package apptest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/parleychat/parley/internal/model"
)

// DefaultPostgresURL is the test server CI starts on this machine.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Postgres creates a fresh database on the test PostgreSQL server
// (PARLEY_TEST_POSTGRES_URL, or DefaultPostgresURL) and returns its URL; it
// is dropped when the test ends. Without a reachable server the test is
// skipped, or fails when CI=true.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	admin, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at PARLEY_TEST_POSTGRES_URL is required under CI=true: %v", err)
		}
		t.Skipf("PostgreSQL not reachable (%v); set PARLEY_TEST_POSTGRES_URL to run this test", err)
	}
	name := "parley_test_" + model.NewID()
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
