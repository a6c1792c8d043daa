package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/store"
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

// TestServeOnAPortInUse: a server whose address is taken says so and
// exits before it makes a database; with JSON logs, as one JSON line.
func TestServeOnAPortInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley processes")
	}
	t.Parallel()
	bin := apptest.BuildParley(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, format := range []string{"text", "json"} {
		file := filepath.Join(t.TempDir(), "parley.db")
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "PARLEY_DATABASE_URL=sqlite:"+file, "PARLEY_HTTP_ADDR="+ln.Addr().String(), "PARLEY_LOG_FORMAT="+format)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "address already in use") {
			t.Fatalf("%s: %v\n%s", format, err, out)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("%s: a database was made for a server that could not listen: %v", format, err)
		}
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		if format == "json" && !json.Valid([]byte(last)) {
			t.Errorf("json: the error line is not JSON: %s", last)
		}
	}
}

// TestServeOnAnotherAddressInUse: a server whose metrics, debug or inbound
// SMTP address is taken says so and exits without being recorded among
// the database's nodes, where the next start would find it stale.
func TestServeOnAnotherAddressInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley processes")
	}
	t.Parallel()
	bin := apptest.BuildParley(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, name := range []string{"PARLEY_METRICS_ADDR", "PARLEY_DEBUG_ADDR", "PARLEY_INBOUND_SMTP_ADDR"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "parley.db")
			cmd := exec.Command(bin, "serve")
			cmd.Env = append(os.Environ(), "PARLEY_DATABASE_URL=sqlite:"+file, "PARLEY_HTTP_ADDR=127.0.0.1:0",
				name+"="+taken.Addr().String(), "PARLEY_INBOUND_DOMAIN=reply.example.com")
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "listen on "+name) || !strings.Contains(string(out), "address already in use") {
				t.Fatalf("%v\n%s", err, out)
			}
			db, err := store.Open(context.Background(), "sqlite:"+file)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var nodes int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM nodes`).Scan(&nodes); err != nil {
				t.Fatal(err)
			}
			if nodes != 0 {
				t.Errorf("a server that could not listen was recorded as %d node(s)", nodes)
			}
		})
	}
}
