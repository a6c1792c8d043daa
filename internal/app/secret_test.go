package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/app"
	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/config"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

func openApp(t *testing.T, env map[string]string) (*app.App, error) {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// The generated secret used to sit in the database it protects (and it
// encrypts the Meta tokens there): a leaked copy of the file gave both.
// Now it is kept in PATH.secret, 0600, the database file is 0600 too, and
// an older database's stored secret is moved out on the first start, gone
// from the file's bytes.
func TestGeneratedSecretLivesBesideTheDatabase(t *testing.T) {
	t.Run("fresh", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "parley.db")
		env := map[string]string{"PARLEY_DATABASE_URL": "sqlite:" + dbPath}
		a, err := openApp(t, env)
		if err != nil {
			t.Fatal(err)
		}
		tok := a.Chat.Signer().Sign(token.Visitor, "v1")
		if v, _ := a.DB.GetMeta(context.Background(), "secret"); v != "" {
			t.Errorf("secret stored in the database")
		}
		a.Close()
		if m := mode(t, dbPath); m != 0o600 {
			t.Errorf("database file mode %o, want 600", m)
		}
		if m := mode(t, app.SecretFile(dbPath)); m != 0o600 {
			t.Errorf("secret file mode %o, want 600", m)
		}
		// The next start signs with the same secret.
		a, err = openApp(t, env)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if id, err := a.Chat.Signer().Verify(token.Visitor, tok); err != nil || id != "v1" {
			t.Fatalf("a token of the first start does not verify: %v", err)
		}
	})

	t.Run("moved out of an older database", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "parley.db")
		const old = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
		db, err := store.Open(context.Background(), "sqlite:"+dbPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetMetaIfAbsent(context.Background(), "secret", old); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if err := os.Chmod(dbPath, 0o644); err != nil {
			t.Fatal(err)
		}

		a, err := openApp(t, map[string]string{"PARLEY_DATABASE_URL": "sqlite:" + dbPath})
		if err != nil {
			t.Fatal(err)
		}
		signed := a.Chat.Signer().Sign(token.Visitor, "v1")
		a.Close()
		if signed != token.NewSigner([]byte(old)).Sign(token.Visitor, "v1") {
			t.Fatal("the stored secret was not kept: every token already given out would break")
		}
		raw, err := os.ReadFile(app.SecretFile(dbPath))
		if err != nil || strings.TrimSpace(string(raw)) != old {
			t.Fatalf("secret file %q (%v)", raw, err)
		}
		for _, f := range []string{dbPath, dbPath + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(old)) {
				t.Errorf("%s still holds the secret", filepath.Base(f))
			}
		}
		if m := mode(t, dbPath); m != 0o600 {
			t.Errorf("database file mode %o, want 600", m)
		}
	})

	t.Run("from the environment", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "parley.db")
		a, err := openApp(t, map[string]string{"PARLEY_DATABASE_URL": "sqlite:" + dbPath, "PARLEY_SECRET": "from-the-environment-0123"})
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		if _, err := os.Stat(app.SecretFile(dbPath)); !os.IsNotExist(err) {
			t.Errorf("a secret file was written although PARLEY_SECRET is set (%v)", err)
		}
	})
}

// A database in use that finds no secret file (restored without it) gets
// a new secret, and the log says loudly what that breaks and how to undo
// it; a new database's first secret says nothing.
func TestNewSecretForADatabaseInUseIsWarned(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "parley.db")
	cfg, err := config.Load(func(k string) string { return map[string]string{"PARLEY_DATABASE_URL": "sqlite:" + dbPath}[k] })
	if err != nil {
		t.Fatal(err)
	}
	open := func() string {
		t.Helper()
		var logs bytes.Buffer
		a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := a.DB.CountAgents(context.Background()); n == 0 {
			ws, err := a.Chat.Workspaces(context.Background())
			if err != nil || len(ws) == 0 {
				t.Fatalf("workspaces: %v %v", ws, err)
			}
			if _, err := a.Chat.CreateAgent(context.Background(), ws[0].ID, "ann@example.com", "Ann", "a long enough password", ""); err != nil {
				t.Fatal(err)
			}
		}
		a.Close()
		return logs.String()
	}
	if logs := open(); strings.Contains(logs, "new secret") {
		t.Errorf("a new database's first secret is warned about:\n%s", logs)
	}
	if err := os.Remove(app.SecretFile(dbPath)); err != nil {
		t.Fatal(err)
	}
	if logs := open(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "generated a new secret for a database that is already in use") {
		t.Errorf("no warning for a database in use that lost its secret:\n%s", logs)
	}
}

// On PostgreSQL every node needs PARLEY_SECRET: without it nothing is
// made in the database; a node whose secret is not the first node's is
// refused (its tokens and links would be the others' strangers), and one
// with the same secret starts.
func TestPostgresNodesShareTheSecret(t *testing.T) {
	url := apptest.Postgres(t)
	env := map[string]string{"PARLEY_DATABASE_URL": url}
	if _, err := openApp(t, env); err == nil || !strings.Contains(err.Error(), "PARLEY_SECRET is required") {
		t.Fatalf("no secret: %v", err)
	}
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.GetMeta(context.Background(), "secret"); err == nil {
		t.Error("the schema was made for a node refused for its missing secret")
	}

	tests := []struct {
		name, secret string
		refused      bool
	}{
		{"first node", "0123456789abcdef0123456789abcdef", false},
		{"second node, same secret", "0123456789abcdef0123456789abcdef", false},
		{"third node, another secret", "ffffffffffffffffffffffffffffffff", true},
	}
	for _, tt := range tests {
		env["PARLEY_SECRET"] = tt.secret
		a, err := openApp(t, env)
		if tt.refused {
			if !errors.Is(err, app.ErrSecretDiffers) {
				t.Errorf("%s: %v, want ErrSecretDiffers", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		defer a.Close()
	}
	check, err := db.GetMeta(context.Background(), "secret_check")
	if err != nil || check == "" || strings.Contains(check, tests[0].secret) {
		t.Errorf("stored check %q (%v): want a hash, not the secret", check, err)
	}
}
