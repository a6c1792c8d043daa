package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"testing"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Admins see the identity secret with examples that compute the hash the
// server checks; agents see neither; the setting and the rotation work
// from the page.
func TestDashboardIdentitySettings(t *testing.T) {
	srv, _, b := setup(t)
	a := b.get("/dashboard/settings")
	m := regexp.MustCompile(`data-testid="identity-secret">([0-9a-f]{64})<`).FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("no identity secret on the admin's settings page")
	}
	secret := m[1]
	mustContain(t, "settings", a.Body, ">Go<", ">Node.js<", ">PHP<", ">Python<", `name="identity_verification" value="1" data-testid`)

	// The Python and Node examples, run, give the hash the server verifies.
	want := chat.IdentityHash(secret, "user-42")
	code := regexp.MustCompile(`(?s)<code id="identity-(python|node)">(.*?)</code>`)
	for _, ex := range code.FindAllStringSubmatch(a.Body, -1) {
		src := html.UnescapeString(ex[2])
		var cmd *exec.Cmd
		switch ex[1] {
		case "python":
			if _, err := exec.LookPath("python3"); err != nil {
				continue
			}
			cmd = exec.Command("python3", "-c", src+"\nprint(parley_hash('user-42'))")
		case "node":
			if _, err := exec.LookPath("node"); err != nil {
				continue
			}
			cmd = exec.Command("node", "-e", src+"\nconsole.log(parleyHash('user-42'))")
		}
		out, err := cmd.Output()
		if err != nil || string(out) != want+"\n" {
			t.Errorf("%s example printed %q (%v), want %s", ex[1], out, err, want)
		}
	}

	if r := b.post("/dashboard/settings", url.Values{"identity_verification": {"0", "1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save: status %d", r.Status)
	}
	if st, err := srv.App.DB.Workspace(t.Context(), srv.Workspace.ID); err != nil || !st.Settings.IdentityVerification {
		t.Fatalf("identity_verification not saved (%v)", err)
	}
	if r := b.post("/dashboard/settings/identity-secret", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("rotate: status %d", r.Status)
	}
	if b.get("/dashboard/settings").Body == a.Body || regexp.MustCompile(secret).MatchString(b.get("/dashboard/settings").Body) {
		t.Fatalf("the secret did not change")
	}

	srv.AddAgentRole(srv.Workspace.ID, "bob@example.com", "Bob", model.RoleAgent)
	ag := newBrowser(t, srv)
	ag.login("bob@example.com")
	mustNotContain(t, "agent's settings", ag.get("/dashboard/settings").Body, `data-testid="identity-secret"`, "identity-python")
	if r := ag.post("/dashboard/settings/identity-secret", url.Values{}); r.Status != http.StatusForbidden {
		t.Fatalf("agent rotating: status %d", r.Status)
	}
}
