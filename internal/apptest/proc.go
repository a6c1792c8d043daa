package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildParley builds the parley command into the test's temporary
// directory and returns its path.
func BuildParley(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/parleychat/parley/cmd/parley")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build parley: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr returns a loopback address with a port nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	// Ports below the kernel's ephemeral range (32768 and up on Linux): an
	// outgoing connection of another test (to PostgreSQL, to Chromium) can
	// never take the port between this check and the server's listen, as
	// it could with a port the kernel handed out for ":0".
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port found below the ephemeral range")
	return ""
}

// Proc is a parley process.
type Proc struct {
	t   testing.TB
	Cmd *exec.Cmd
	URL string
	out *bytes.Buffer
	mu  sync.Mutex
}

// Run runs a parley command to completion with the given environment and
// standard input, and returns its standard output.
func Run(t testing.TB, bin string, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// StartServe starts `parley serve` with env and waits until url answers
// /healthz. The process is killed when the test ends.
func StartServe(t testing.TB, bin string, env []string, url string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	p := &Proc{t: t, Cmd: cmd, URL: url, out: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("parley %s output:\n%s", url, p.Output())
		}
	})
	Eventually(t, 20*time.Second, "parley healthy at "+url, func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// Write collects the process's output.
func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output returns what the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Kill sends SIGKILL and waits for the process to go.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	_ = p.Cmd.Wait()
}

// Stop sends SIGTERM and returns the exit error, failing the test if the
// process does not stop within 15 s.
func (p *Proc) Stop() error {
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		p.t.Fatal("parley did not stop within 15s of SIGTERM")
	}
	return nil
}

// Call makes a JSON request to a running Parley and decodes the answer
// into out, failing the test on a status of 300 or more.
func Call(t testing.TB, method, url, token string, body any, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
}

// Watched is what the agent API tells of a conversation's forwarding and
// its visitor's presence, for tests that follow them across a restart.
type Watched struct {
	Forwarding *struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"forwarding"`
	Visitor struct {
		Online bool       `json:"online"`
		LeftAt *time.Time `json:"left_at"`
	} `json:"visitor"`
}

// Watch reads conversation id from the agent API of the Parley at baseURL.
func Watch(t testing.TB, baseURL, token, id string) Watched {
	t.Helper()
	var w Watched
	Call(t, "GET", baseURL+"/api/v1/conversations/"+id, token, nil, &w)
	return w
}

// WaitsForIdle reports whether the conversation's email waits for its
// visitor's inactivity (the forwarding state "waiting", "…idle…").
func (w Watched) WaitsForIdle() bool {
	return w.Forwarding != nil && w.Forwarding.Code == "waiting" && strings.Contains(w.Forwarding.Reason, "idle")
}
