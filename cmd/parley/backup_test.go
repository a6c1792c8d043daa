package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/store"
)

// acks records the messages the server acknowledged (201), in order.
type acks struct {
	mu   sync.Mutex
	ids  []string
	errs []error
}

func (a *acks) add(id string) {
	a.mu.Lock()
	a.ids = append(a.ids, id)
	a.mu.Unlock()
}

func (a *acks) fail(err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
}

func (a *acks) snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ids...)
}

func (a *acks) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

func postJSON(url string, body any, out any) (int, error) {
	raw, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

// writeMessages is a visitor after another writing as fast as the
// per-visitor limit lets them, until ctx ends.
func writeMessages(ctx context.Context, base, siteKey string, w int, a *acks) {
	body := strings.Repeat(fmt.Sprintf("writer %d says hello. ", w), 100)
	for n := 0; ctx.Err() == nil; {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		if code, err := postJSON(base+"/api/widget/v1/session", map[string]string{"site_key": siteKey}, &sess); err != nil || code != 200 {
			a.fail(fmt.Errorf("session: %d %v", code, err))
			return
		}
		for range 10 { // the per-visitor burst
			if ctx.Err() != nil {
				return
			}
			n++
			var m struct {
				ID string `json:"id"`
			}
			code, err := postJSON(base+"/api/widget/v1/messages", map[string]string{
				"visitor_token": sess.VisitorToken, "body": body, "client_id": fmt.Sprintf("w%d-%d", w, n)}, &m)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil || code != 201 || m.ID == "":
				a.fail(fmt.Errorf("message: %d %v", code, err))
				return
			}
			a.add(m.ID)
		}
	}
}

// TestBackupUnderLoad copies the database of a running `parley serve`
// while four visitors' worth of writers keep writing, restores the copy
// and finds every message acknowledged before the backup began.
func TestBackupUnderLoad(t *testing.T) {
	bin := apptest.BuildParley(t)
	dir := t.TempDir()
	addr := apptest.FreeAddr(t)
	env := []string{
		"PARLEY_DATABASE_URL=sqlite:" + filepath.Join(dir, "data", "parley.db"),
		"PARLEY_HTTP_ADDR=" + addr,
		"PARLEY_PUBLIC_URL=http://" + addr,
		"PARLEY_SECRET=backup-test-secret-0123456789",
		"PARLEY_LOG_LEVEL=warn",
		"PARLEY_RATE_LIMITS=off", // the load comes from one address
		"PARLEY_ATTACHMENTS_DIR=" + filepath.Join(dir, "data", "attachments"),
	}
	apptest.Run(t, bin, env, "a long enough password\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	siteKey := strings.Fields(apptest.Run(t, bin, env, "", "workspace", "list"))[2]
	base := "http://" + addr
	apptest.StartServe(t, bin, env, base)
	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "a long enough password"}, &login)
	apptest.Call(t, "PUT", base+"/api/v1/me/status", login.Token, map[string]string{"status": "online"}, nil)

	var a acks
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { writeMessages(ctx, base, siteKey, w, &a) })
	}
	defer func() { stop(); wg.Wait() }()
	apptest.Eventually(t, 30*time.Second, "300 messages written", func() bool { return a.count() >= 300 })

	before := a.snapshot()
	out := filepath.Join(dir, "backup.db")
	start := time.Now()
	cmd := exec.Command(bin, "backup", "--out", out)
	cmd.Env = env
	res, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("parley backup: %v\n%s", err, res)
	}
	during := a.count() - len(before)
	// Writes go on after the copy.
	end := a.count()
	apptest.Eventually(t, 30*time.Second, "writes after the backup", func() bool { return a.count() >= end+50 })
	stop()
	wg.Wait()
	if len(a.errs) > 0 {
		t.Fatalf("writers refused while the backup ran: %v", a.errs)
	}

	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", st.Mode().Perm())
	}
	t.Logf("backup of %d bytes in %v; %d messages acknowledged before it, %d while it ran, %d in all",
		st.Size(), took.Round(time.Millisecond), len(before), during, a.count())

	// Restore: the copy becomes the database of a new installation.
	restored := filepath.Join(t.TempDir(), "parley.db")
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	renv := append(append([]string(nil), env...), "PARLEY_DATABASE_URL=sqlite:"+restored)
	apptest.Run(t, bin, renv, "", "migrate")
	db, err := store.Open(context.Background(), "sqlite:"+restored)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.SQL.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check of the restored copy: %q %v", check, err)
	}
	have := map[string]bool{}
	rows, err := db.SQL.Query(`SELECT id FROM messages`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		have[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range before {
		if !have[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of the %d messages acknowledged before the backup are not in it", missing, len(before))
	}
	if len(have) > a.count() {
		t.Errorf("the copy holds %d messages, more than the %d ever acknowledged", len(have), a.count())
	}
}

func TestBackupRefusals(t *testing.T) {
	bin := apptest.BuildParley(t)
	dir := t.TempDir()
	sqlite := []string{"PARLEY_DATABASE_URL=sqlite:" + filepath.Join(dir, "parley.db")}
	apptest.Run(t, bin, sqlite, "", "migrate")
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
		noFile  string
	}{
		{"no --out", sqlite, nil, "usage: parley backup --out FILE", ""},
		{"existing file", sqlite, []string{"--out", existing}, "already exists", ""},
		{"missing directory", sqlite, []string{"--out", filepath.Join(dir, "nope", "b.db")}, "no such file or directory", filepath.Join(dir, "nope", "b.db")},
		{"postgres", []string{"PARLEY_DATABASE_URL=" + apptest.Postgres(t)}, []string{"--out", filepath.Join(dir, "pg.db")}, "use pg_dump", filepath.Join(dir, "pg.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"backup"}, tt.args...)...)
			cmd.Env = tt.env
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.wantErr) {
				t.Fatalf("err %v, output %q; want a failure mentioning %q", err, out, tt.wantErr)
			}
			if tt.noFile != "" {
				if _, err := os.Stat(tt.noFile); !os.IsNotExist(err) {
					t.Errorf("%s was created", tt.noFile)
				}
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("an existing file was overwritten: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".partial-") {
			t.Errorf("a failed backup left %s behind", e.Name())
		}
	}
}
