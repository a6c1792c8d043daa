package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/store"
)

// TestCommandsWriteOnlyTheirAnswer: a one-off command prints its answer
// and nothing on stderr: what the server logs when it starts (the
// descriptor limit) is not a command's business.
//
// On PostgreSQL, the server's warnings about the server's settings (this
// machine's test server runs without autovacuum) and the mail's are not
// either.
func TestCommandsWriteOnlyTheirAnswer(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			if db == "sqlite" {
				t.Setenv("PARLEY_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "parley.db"))
			} else {
				t.Setenv("PARLEY_DATABASE_URL", apptest.Postgres(t))
			}
			t.Setenv("PARLEY_SECRET", "quiet-test-secret-0123456789abcdef")
			t.Setenv("PARLEY_SMTP_URL", "smtp://127.0.0.1:1") // with the trial settings: warned of by serve
			tests := []struct {
				args []string
				want string
			}{
				{[]string{"workspace", "create", "--name", "Support"}, ""},
				{[]string{"workspace", "list"}, "Default"},
				{[]string{"agent", "add", "--email", "a@example.com", "--name", "A", "--password", "long enough pw"}, ""},
				{[]string{"agent", "list"}, "a@example.com"},
			}
			for _, tc := range tests {
				var stdout, stderr bytes.Buffer
				if err := run(context.Background(), tc.args, nil, &stdout, &stderr); err != nil {
					t.Fatalf("%v: %v\n%s", tc.args, err, stderr.String())
				}
				if !strings.Contains(stdout.String(), tc.want) {
					t.Errorf("%v: stdout %q, want it to hold %q", tc.args, stdout.String(), tc.want)
				}
				if stderr.Len() != 0 {
					t.Errorf("%v: stderr %q, want nothing", tc.args, stderr.String())
				}
			}
		})
	}
}

// TestCommandArguments: a command refuses what it does not take, and a
// command that reads the database refuses a SQLite file that is not
// there instead of making an empty one (a backup of it would look like a
// success).
func TestCommandArguments(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PARLEY_SECRET", "arguments-test-secret-0123456789")
	missing := filepath.Join(dir, "nowhere", "parley.db")
	t.Setenv("PARLEY_DATABASE_URL", "sqlite:"+missing)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "serve takes no arguments"},
		{[]string{"migrate", "--dry-run"}, "migrate takes no arguments"},
		{[]string{"version", "extra"}, "version takes no arguments"},
		{[]string{"backup", "--out", filepath.Join(dir, "bk.db")}, "no database at " + missing},
		{[]string{"agent", "list"}, "no database at"},
		{[]string{"agent", "remove", "--email", "a@example.com"}, "no database at"},
		{[]string{"workspace", "list"}, "no database at"},
		{[]string{"workspace", "rename", "--workspace", "Default", "--name", "X"}, "no database at"},
		{[]string{"agent", "add", "--email", "a@example.com", "--name", "A", "--password", "long enough pw", "--password-stdin"}, "not both"},
		{[]string{"agent", "add", "--email", "a@example.com", "--name", "A", "extra"}, `unexpected "extra"`},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, strings.NewReader("long enough pw\n"), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a refused command made the database %s", missing)
	}
	if _, err := os.Stat(filepath.Join(dir, "bk.db")); err == nil {
		t.Error("a backup of a missing database was written")
	}

	// With the database there, the same reads work, and the creating
	// commands refuse stray arguments too.
	t.Setenv("PARLEY_DATABASE_URL", "sqlite:"+filepath.Join(dir, "parley.db"))
	for _, args := range [][]string{{"migrate"}, {"workspace", "list"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, nil, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// Two workspaces of one name: a name that could mean either is refused.
	for range 2 {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"workspace", "create", "--name", "Support EU"}, nil, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"agent", "list", "--workspace", "Support EU"}, nil, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), `2 workspaces are named "Support EU"`) {
		t.Errorf("agent list in an ambiguous workspace name: %v", err)
	}
	for _, args := range [][]string{{"workspace", "list", "--json"}, {"workspace", "create", "--name", "X", "extra"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, nil, &stdout, &stderr); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	// --password-stdin with nothing piped says what it needs.
	if err := run(context.Background(), []string{"agent", "add", "--email", "a@example.com", "--name", "A", "--password-stdin"},
		strings.NewReader(""), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "needs --password or --password-stdin") {
		t.Errorf("agent add with nothing piped: %v", err)
	}
}

// TestHelpOpensNothing: asking a command for help prints its usage and
// exits 0, and neither that nor an unknown subcommand makes a database;
// the commands that only read leave an older schema as it is and say what
// to do.
func TestHelpOpensNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "parley.db")
	t.Setenv("PARLEY_DATABASE_URL", "sqlite:"+file)
	t.Setenv("PARLEY_SECRET", "help-test-secret-0123456789abcdef")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--help"}, "usage: parley serve"},
		{[]string{"migrate", "-h"}, "usage: parley migrate"},
		{[]string{"version", "--help"}, "usage: parley <command>"},
		{[]string{"agent", "list", "--help"}, "usage: parley agent"},
		{[]string{"agent", "help"}, "usage: parley agent"},
		{[]string{"workspace", "create", "--help"}, "usage: parley workspace"},
		{[]string{"workspace", "--help"}, "usage: parley workspace"},
		{[]string{"backup", "-h"}, "usage: parley backup"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), tc.args, nil, &stdout, &stderr); err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		if !strings.HasPrefix(stdout.String(), tc.want) {
			t.Errorf("%v: stdout %q, want the usage %q", tc.args, stdout.String(), tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"workspace", "bogus"}, `unknown workspace command "bogus"`},
		{[]string{"bogus"}, `unknown command "bogus" (parley help lists the commands)`},
		{[]string{"bogus", "--help"}, `unknown command "bogus"`},
	} {
		if err := run(context.Background(), tc.args, nil, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a database was made: %v", err)
	}

	if err := run(context.Background(), []string{"migrate"}, nil, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), "sqlite:"+file)
	if err != nil {
		t.Fatal(err)
	}
	version := func() (v int64) {
		t.Helper()
		if err := db.SQL.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	newest := version()
	if _, err := db.SQL.Exec(`DELETE FROM goose_db_version WHERE version_id = ?`, newest); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"agent", "list"}, {"workspace", "list"}} {
		if err := run(context.Background(), args, nil, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "only reads") {
			t.Errorf("%v on an older schema: %v", args, err)
		}
	}
	if v := version(); v != newest-1 {
		t.Errorf("a command that only reads migrated the schema to %d", v)
	}
	db.Close()
}

// The first start's hint names the command the way it was run.
func TestSelfCommand(t *testing.T) {
	for _, tt := range []struct{ arg0, want string }{
		{"/tmp/go-build1234/b001/exe/parley", "go run ./cmd/parley"},
		{"/usr/local/bin/parley", "/usr/local/bin/parley"},
		{"./parley", "./parley"},
	} {
		if got := selfCommand(tt.arg0); got != tt.want {
			t.Errorf("selfCommand(%q) = %q, want %q", tt.arg0, got, tt.want)
		}
	}
}

// TestAgentAddWithoutAdmin: a workspace whose agents are all "agent" has
// nobody to change its settings; adding one is allowed, and said.
func TestAgentAddWithoutAdmin(t *testing.T) {
	t.Setenv("PARLEY_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "parley.db"))
	t.Setenv("PARLEY_SECRET", "admin-test-secret-0123456789abcdef")
	const note = "this workspace has no admin yet"
	steps := []struct {
		args     []string
		wantNote bool
	}{
		{[]string{"workspace", "create", "--name", "Acme"}, false},
		{[]string{"agent", "add", "--workspace", "Acme", "--role", "agent", "--email", "a@example.com", "--name", "A", "--password", "long enough pw"}, true},
		{[]string{"agent", "add", "--workspace", "Acme", "--role", "admin", "--email", "b@example.com", "--name", "B", "--password", "long enough pw"}, false},
		{[]string{"agent", "add", "--workspace", "Acme", "--email", "c@example.com", "--name", "C", "--password", "long enough pw"}, false},
	}
	for _, st := range steps {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), st.args, nil, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", st.args, err, stderr.String())
		}
		if got := strings.Contains(stderr.String(), note); got != st.wantNote {
			t.Errorf("%v: stderr %q, want the note: %v", st.args, stderr.String(), st.wantNote)
		}
	}
}
