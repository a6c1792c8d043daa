package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// TestOneServerPerSQLiteFile: a second `parley serve` on a SQLite file
// another one serves stops at once with a clear error (its widgets would
// not hear the first one's events, and both would forward), while the
// commands still run beside the server; once the first one stopped, a new
// one starts.
func TestOneServerPerSQLiteFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley processes")
	}
	t.Parallel()
	bin := apptest.BuildParley(t)
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "data", "parley.db")
	env := func(addr string) []string {
		return append(os.Environ(), "PARLEY_DATABASE_URL="+dbURL, "PARLEY_HTTP_ADDR="+addr,
			"PARLEY_METRICS_ADDR="+apptest.FreeAddr(t), "PARLEY_PUBLIC_URL=http://"+addr)
	}
	firstAddr := apptest.FreeAddr(t)
	first := apptest.StartServe(t, bin, env(firstAddr), "http://"+firstAddr)

	// A second server that started would run until killed.
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "serve")
	second.Env = env(apptest.FreeAddr(t))
	out, err := second.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("a second server on the same file started and ran:\n%s", out)
	}
	if err == nil {
		t.Fatalf("a second server on the same file exited without an error:\n%s", out)
	}
	if !strings.Contains(string(out), "another parley serve is running on this SQLite database") {
		t.Errorf("the second server's error does not say why:\n%s", out)
	}

	// Commands run beside the server.
	apptest.Run(t, bin, env(apptest.FreeAddr(t)), "", "workspace", "list")

	if err := first.Stop(); err != nil {
		t.Fatalf("first server: %v", err)
	}
	addr := apptest.FreeAddr(t)
	apptest.StartServe(t, bin, env(addr), "http://"+addr)
}
