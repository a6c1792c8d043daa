package forward_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
)

// buildParley builds the parley command once per test binary.
func buildParley(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/parleychat/parley/cmd/parley")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build parley: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	t   *testing.T
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startParley(t *testing.T, bin string, env []string, url string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("parley output:\n%s", out.String())
		}
	})
	apptest.Eventually(t, 15*time.Second, "parley healthy", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func call(t *testing.T, method, url, token string, body any, out any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(raw))
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
			t.Fatal(err)
		}
	}
}

// Scenario 10: the server is killed (SIGKILL) between queueing and sending
// → after restart the email is sent, once.
func TestScenario10KilledBetweenQueueingAndSending(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the parley command")
	}
	t.Parallel()
	bin := buildParley(t)
	relay := apptest.StartRelay(t)
	held := relay.Hold()
	addr := freeAddr(t)
	url := "http://" + addr
	env := append(os.Environ(),
		"PARLEY_HTTP_ADDR="+addr,
		"PARLEY_PUBLIC_URL="+url,
		"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_SECRET=crash-test-secret-0123456789",
		"PARLEY_SMTP_URL="+relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER=2s", "PARLEY_FORWARD_IDLE_AFTER=5s", "PARLEY_FORWARD_QUIET=1s",
		"PARLEY_VISITOR_GRACE=300ms", "PARLEY_MAIL_RETRY_BASE=200ms", "PARLEY_LOG_LEVEL=debug",
	)
	add := exec.Command(bin, "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	add.Env = env
	add.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("agent add: %v\n%s", err, out)
	}

	first := startParley(t, bin, env, url)
	var login struct {
		Token string `json:"token"`
	}
	call(t, "POST", url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &login)
	call(t, "PUT", url+"/api/v1/me/status", login.Token, map[string]string{"status": "online"}, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	siteKey := workspaceSiteKey(t, bin, env)
	call(t, "POST", url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	c, _, err := websocket.Dial(t.Context(), "ws://"+addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"contact","email":"vera@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	time.Sleep(200 * time.Millisecond)
	call(t, "POST", url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, &m)
	c.Close(websocket.StatusGoingAway, "bye")
	var reply struct {
		ID string `json:"id"`
	}
	call(t, "POST", url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, map[string]string{"body": "Your answer", "kind": "reply"}, &reply)

	select {
	case <-held:
	case <-time.After(15 * time.Second):
		t.Fatal("the email never reached the relay")
	}
	// The email is queued and in the middle of being sent: kill the server.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	relay.Release()
	if got := len(relay.Mails()); got != 0 {
		t.Fatalf("relay accepted %d mails before the restart", got)
	}

	second := startParley(t, bin, env, url)
	mails := relay.Wait(t, 1, 15*time.Second)
	time.Sleep(time.Second)
	if got := len(relay.Mails()); got != 1 {
		t.Fatalf("relay accepted %d mails, want exactly 1", got)
	}
	if !strings.Contains(string(mails[0].Raw), "Your answer") {
		t.Fatal("the mail lacks the reply")
	}
	var msgs struct {
		Messages []struct {
			ID        string `json:"id"`
			Forwarded *struct {
				Status string `json:"status"`
			} `json:"forwarded"`
		} `json:"messages"`
	}
	apptest.Eventually(t, 5*time.Second, "reply marked sent", func() bool {
		call(t, "GET", url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, nil, &msgs)
		for _, msg := range msgs.Messages {
			if msg.ID == reply.ID {
				return msg.Forwarded != nil && msg.Forwarded.Status == "sent"
			}
		}
		return false
	})

	// SIGTERM stops cleanly.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("parley exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("parley did not stop within 15s of SIGTERM")
	}
}

func workspaceSiteKey(t *testing.T, bin string, env []string) string {
	t.Helper()
	cmd := exec.Command(bin, "workspace", "list")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(strings.TrimSpace(string(out)), "\t")
	if len(fields) != 3 || fields[1] != "Default" {
		t.Fatalf("workspace list: %q", out)
	}
	return fields[2]
}
