package web_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

type readiness struct {
	Status string            `json:"status"`
	Failed []string          `json:"failed"`
	Checks map[string]string `json:"checks"`
}

func readyz(t *testing.T, s *apptest.Server) (int, readiness) {
	t.Helper()
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out readiness
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("readyz body: %v", err)
	}
	return resp.StatusCode, out
}

func TestReadyz(t *testing.T) {
	s := apptest.Start(t, nil)
	code, out := readyz(t, s)
	want := map[string]string{"database": "ok", "migrations": "ok"}
	if code != 200 || out.Status != "ok" || len(out.Failed) != 0 || !mapsEqual(out.Checks, want) {
		t.Fatalf("ready node: %d %+v", code, out)
	}

	// A schema behind this build: migrations pending.
	if _, err := s.App.DB.SQL.Exec(`DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	code, out = readyz(t, s)
	if code != 503 || out.Status != "unavailable" || !slices.Equal(out.Failed, []string{"migrations"}) || out.Checks["database"] != "ok" {
		t.Fatalf("schema behind: %d %+v", code, out)
	}
	s.Do("GET", "/healthz", "", nil, 200, nil) // liveness does not care

	// The database gone: both fail, and /healthz says so too.
	s.App.DB.Close()
	code, out = readyz(t, s)
	if code != 503 || !slices.Equal(out.Failed, []string{"database", "migrations"}) {
		t.Fatalf("database closed: %d %+v", code, out)
	}
	s.Do("GET", "/healthz", "", nil, 503, nil)
}

func TestReadyzPostgres(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_DATABASE_URL": apptest.Postgres(t)})
	var out readiness
	var code int
	apptest.Eventually(t, 10*time.Second, "the event bus listening", func() bool {
		code, out = readyz(t, s)
		return code == 200
	})
	want := map[string]string{"database": "ok", "migrations": "ok", "bus": "ok"}
	if out.Status != "ok" || !mapsEqual(out.Checks, want) {
		t.Fatalf("ready node: %d %+v", code, out)
	}
	s.App.DB.Close()
	code, out = readyz(t, s)
	if code != 503 || !slices.Contains(out.Failed, "database") {
		t.Fatalf("database closed: %d %+v", code, out)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
