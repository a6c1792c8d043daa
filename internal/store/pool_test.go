package store_test

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/store"
)

// pool_max_conns in a PostgreSQL URL sizes the node's pool (pgxpool's
// name for it, which the server itself would refuse as a setting); a bad
// value is refused with the parameter named.
func TestPostgresPoolSize(t *testing.T) {
	if err := postgresProbe(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is unreachable and CI=true requires it: %v", err)
		}
		t.Skipf("PostgreSQL is unreachable (%v)", err)
	}
	u, err := url.Parse(postgresURL())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value   string
		want    int    // the pool's size
		wantErr string // "" when it opens
	}{
		{"", 20, ""},
		{"3", 3, ""},
		{"0", 0, "pool_max_conns"},
		{"many", 0, "pool_max_conns"},
	}
	for _, tt := range tests {
		q := u.Query()
		if tt.value != "" {
			q.Set("pool_max_conns", tt.value)
		}
		u.RawQuery = q.Encode()
		db, err := store.Open(t.Context(), u.String())
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("pool_max_conns=%q: %v, want an error naming %s", tt.value, err, tt.wantErr)
			}
			if db != nil {
				db.Close()
			}
			continue
		}
		if err != nil {
			t.Fatalf("pool_max_conns=%q: %v", tt.value, err)
		}
		var one int
		if err := db.SQL.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil {
			t.Errorf("pool_max_conns=%q: a query: %v", tt.value, err)
		}
		if got := db.SQL.Stats().MaxOpenConnections; got != tt.want {
			t.Errorf("pool_max_conns=%q: pool of %d, want %d", tt.value, got, tt.want)
		}
		db.Close()
	}
}
