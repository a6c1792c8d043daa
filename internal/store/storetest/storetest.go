// Package storetest opens databases for the tests of the packages built
// on the store.
package storetest

import (
	"testing"

	"github.com/parleychat/parley/internal/store"
)

// Open opens the database at url (a store URL: "sqlite:PATH" or a
// PostgreSQL one) with every migration applied, closed when the test ends.
func Open(t testing.TB, url string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}
