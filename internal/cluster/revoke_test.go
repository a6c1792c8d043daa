package cluster

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
)

// closeCode dials an agent's dashboard connection and returns a channel
// that receives the close code the server ends it with.
func closeCode(t *testing.T, url string) <-chan websocket.StatusCode {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	done := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := c.Read(t.Context()); err != nil {
				done <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	return done
}

func waitClosed(t *testing.T, what string, ch <-chan websocket.StatusCode) {
	t.Helper()
	select {
	case code := <-ch:
		if code != websocket.StatusPolicyViolation {
			t.Fatalf("%s: closed with %v, want 1008", what, code)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: dashboard on the other node still open", what)
	}
}

// TestRevokedTokenClosesSocketsOnEveryNode: a token revoked on one node (or
// by a command) closes the dashboards opened with it on the other node.
func TestRevokedTokenClosesSocketsOnEveryNode(t *testing.T) {
	cl := startCluster(t)
	bin := apptest.BuildParley(t)

	// Logout on B closes the dashboard open on A.
	onA := closeCode(t, "ws://"+cl.a.addr+"/api/v1/ws?token="+cl.token)
	apptest.Call(t, "GET", cl.a.url+"/api/v1/me", cl.token, nil, nil) // A knows the token
	apptest.Call(t, "POST", cl.b.url+"/api/v1/auth/logout", cl.token, nil, nil)
	waitClosed(t, "logout on the other node", onA)
	// A remembered the token a moment ago; the revocation made it forget.
	if code := status(t, cl.a.url+"/api/v1/me", cl.token); code != http.StatusUnauthorized {
		t.Errorf("the token after a logout on the other node: %d on A, want 401", code)
	}

	// The command line: a second admin, the list, a rename.
	apptest.Run(t, bin, cl.a.env, "another long password\n", "agent", "add", "--email", "bob@example.com", "--name", "Bob", "--role", "admin", "--password-stdin")
	apptest.Run(t, bin, cl.a.env, "a third long password\n", "agent", "add", "--email", "cat@example.com", "--name", "Cat", "--password-stdin")
	list := apptest.Run(t, bin, cl.a.env, "", "agent", "list", "--workspace", "Default")
	for _, want := range []string{"\tann@example.com\tAnn\tadmin\n", "\tbob@example.com\tBob\tadmin\n", "\tcat@example.com\tCat\tagent\n"} {
		if !strings.Contains(list, want) {
			t.Errorf("agent list lacks %q:\n%s", want, list)
		}
	}
	apptest.Run(t, bin, cl.a.env, "", "workspace", "rename", "--workspace", "Default", "--name", "Acme Support")
	var sess struct {
		WorkspaceName string `json:"workspace_name"`
	}
	apptest.Call(t, "POST", cl.b.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
	if sess.WorkspaceName != "Acme Support" {
		t.Errorf("widget names the workspace %q after the rename", sess.WorkspaceName)
	}

	// Removing Ann by command closes her dashboards on both nodes.
	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", cl.b.url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &login)
	onA = closeCode(t, "ws://"+cl.a.addr+"/api/v1/ws?token="+login.Token)
	onB := closeCode(t, "ws://"+cl.b.addr+"/api/v1/ws?token="+login.Token)
	apptest.Call(t, "GET", cl.a.url+"/api/v1/me", login.Token, nil, nil)
	apptest.Call(t, "GET", cl.b.url+"/api/v1/me", login.Token, nil, nil)
	apptest.Run(t, bin, cl.a.env, "", "agent", "remove", "--email", "ann@example.com")
	waitClosed(t, "removal by command (node A)", onA)
	waitClosed(t, "removal by command (node B)", onB)

	// Bob is now the only admin: the command refuses to remove him.
	cmd := exec.Command(bin, "agent", "remove", "--email", "bob@example.com")
	cmd.Env = cl.a.env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "last admin") {
		t.Errorf("removing the last admin: %v\n%s", err, out)
	}
}
