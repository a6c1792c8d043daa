package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
)

// TestMigrateTwoProcessesAtOnce: two processes starting together on a new
// database (two nodes, or a server and a command in another terminal)
// both get through their migrations: the second waits for the first
// instead of failing on a table the first just created. Several rounds,
// since the clash depends on timing.
func TestMigrateTwoProcessesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley processes")
	}
	t.Parallel()
	bin := apptest.BuildParley(t)
	// Each returns a new, empty database.
	databases := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "parley.db") },
		"postgres": func(t *testing.T) string { return apptest.Postgres(t) },
	}
	for name, fresh := range databases {
		t.Run(name, func(t *testing.T) {
			for round := range 8 {
				env := append(os.Environ(), "PARLEY_DATABASE_URL="+fresh(t), "PARLEY_SECRET=migrate-test-secret-0123456789abcdef")
				var wg sync.WaitGroup
				outs := make([]bytes.Buffer, 2)
				errs := make([]error, 2)
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						cmd := exec.Command(bin, "migrate")
						cmd.Env, cmd.Stdout, cmd.Stderr = env, &outs[i], &outs[i]
						errs[i] = cmd.Run()
					}()
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d, process %d: %v\n%s", round+1, i+1, err, outs[i].String())
					}
				}
			}
		})
	}
}
