// Package apptest starts a real Parley in-process on a loopback port, on a
// fresh SQLite file (or the PostgreSQL named by PARLEY_TEST_DATABASE_URL),
// for end-to-end tests.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/app"
	"github.com/parleychat/parley/internal/config"
	"github.com/parleychat/parley/internal/model"
)

// Server is a running Parley.
type Server struct {
	App       *app.App
	URL       string // http://127.0.0.1:PORT
	Workspace model.Workspace
	t         testing.TB
	cancel    context.CancelFunc
	done      chan error
}

// Start runs Parley until the test ends. env overrides PARLEY_* variables
// (PARLEY_PUBLIC_URL defaults to the server's own URL).
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return StartLogged(t, env, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})))
}

// StartLogged is Start with the server logging to log, for tests that
// read what Parley logs. PARLEY_HTTP_ADDR in env makes it listen there (a
// server started again where one stopped), else on a free port.
func StartLogged(t testing.TB, env map[string]string, log *slog.Logger) *Server {
	t.Helper()
	addr := env["PARLEY_HTTP_ADDR"]
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	vars := map[string]string{
		"PARLEY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_PUBLIC_URL":   url,
		"PARLEY_SECRET":       "test-secret-0123456789abcdef",
		"PARLEY_LOG_LEVEL":    "warn",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ws, err := a.Chat.Workspaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{App: a, URL: url, Workspace: ws[0], t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, ln) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down (idempotent).
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		s.t.Errorf("server did not stop within 15s")
	}
	s.App.Close()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Agent is a logged-in agent.
type Agent struct {
	model.Agent
	Token string
}

// AddAgent creates an agent in the server's default workspace (or in
// workspaceID when given) and logs in. The workspace's first agent is an
// admin, the others agents.
func (s *Server) AddAgent(email, name string, workspaceID ...string) Agent {
	s.t.Helper()
	ws := s.Workspace.ID
	if len(workspaceID) > 0 {
		ws = workspaceID[0]
	}
	return s.AddAgentRole(ws, email, name, "")
}

// AgentPassword is the password of the agents AddAgent creates.
const AgentPassword = "correct horse battery"

// AddAgentRole creates an agent with a role ("" as the command line does)
// in a workspace and logs in.
func (s *Server) AddAgentRole(ws, email, name, role string) Agent {
	s.t.Helper()
	const password = AgentPassword
	a, err := s.App.Chat.CreateAgent(context.Background(), ws, email, name, password, role)
	if err != nil {
		s.t.Fatal(err)
	}
	var out struct {
		Token string `json:"token"`
	}
	s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK, &out)
	return Agent{Agent: a, Token: out.Token}
}

// Do makes a JSON request and checks the status; out (if not nil) receives
// the decoded answer. It returns the raw body.
func (s *Server) Do(method, path, token string, body any, wantStatus int, out any) []byte {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if wantStatus != 0 && resp.StatusCode != wantStatus {
		s.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

// ErrorCode extracts the error code of an error answer.
func ErrorCode(raw []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Error.Code
}

// Eventually polls cond every 20ms until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}
