package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

type identity struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name,omitempty"`
	Hash   string `json:"hash,omitempty"`
}

func identitySecret(t *testing.T, s *apptest.Server, a apptest.Agent) string {
	t.Helper()
	var out struct {
		Secret string `json:"secret"`
	}
	s.Do("GET", "/api/v1/settings/identity-secret", a.Token, nil, http.StatusOK, &out)
	if len(out.Secret) < 32 {
		t.Fatalf("identity secret %q", out.Secret)
	}
	return out.Secret
}

// identify opens a session with an identity and the visitor token of a
// browser ("" for a new one), expecting status.
func identify(t *testing.T, s *apptest.Server, tok string, id identity, status int) (session, []byte) {
	t.Helper()
	var out session
	var dst any = &out
	if status != http.StatusOK {
		dst = nil
	}
	raw := s.Do("POST", "/api/widget/v1/session", "", map[string]any{"site_key": s.Workspace.SiteKey, "visitor_token": tok, "identity": id}, status, dst)
	return out, raw
}

func TestIdentitySecretIsForAdmins(t *testing.T) {
	s := apptest.Start(t, nil)
	admin := s.AddAgent("ann@example.com", "Ann")
	agent := s.AddAgentRole(s.Workspace.ID, "bob@example.com", "Bob", model.RoleAgent)
	first := identitySecret(t, s, admin)
	if again := identitySecret(t, s, admin); again != first {
		t.Fatalf("secret changed between reads")
	}
	for _, m := range []string{"GET", "POST"} {
		raw := s.Do(m, "/api/v1/settings/identity-secret", agent.Token, nil, http.StatusForbidden, nil)
		if code := apptest.ErrorCode(raw); code != "forbidden" {
			t.Errorf("%s as agent: code %q", m, code)
		}
	}
	s.Do("GET", "/api/v1/settings/identity-secret", "", nil, http.StatusUnauthorized, nil)
	var rotated struct {
		Secret string `json:"secret"`
	}
	s.Do("POST", "/api/v1/settings/identity-secret", admin.Token, nil, http.StatusOK, &rotated)
	if rotated.Secret == first || rotated.Secret == "" || identitySecret(t, s, admin) != rotated.Secret {
		t.Fatalf("rotation: %q after %q", rotated.Secret, first)
	}
	// The secret is not stored in clear.
	stored, err := s.App.DB.IdentitySecret(t.Context(), s.Workspace.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored == "" || stored == rotated.Secret {
		t.Fatalf("stored secret %q", stored)
	}
}

func TestIdentityContinuesAcrossBrowsers(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	secret := identitySecret(t, s, a)
	id := identity{UserID: "user-42", Email: "lea@example.com", Name: "Léa", Hash: chat.IdentityHash(secret, "user-42")}

	// The first browser chatted anonymously; identifying keeps its conversation.
	anon := newSession(t, s, s.Workspace.SiteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": anon.VisitorToken, "body": "Hello", "client_id": "c1"}, http.StatusCreated, &m)
	one, _ := identify(t, s, anon.VisitorToken, id, http.StatusOK)
	if one.Visitor.ID != anon.Visitor.ID || one.Visitor.Email == nil || *one.Visitor.Email != "lea@example.com" || one.ContactFormRequired {
		t.Fatalf("first browser: %+v", one)
	}
	if one.Visitor.EmailSource == nil || *one.Visitor.EmailSource != model.EmailFromIdentity {
		t.Errorf("email source %v, want %q", one.Visitor.EmailSource, model.EmailFromIdentity)
	}
	if one.Visitor.UserID == nil || *one.Visitor.UserID != "user-42" {
		t.Fatalf("user id %v", one.Visitor.UserID)
	}

	// A second browser with no token of its own resumes the same visitor and conversation.
	two, _ := identify(t, s, "", id, http.StatusOK)
	if two.Visitor.ID != one.Visitor.ID || two.ConversationID == nil || *two.ConversationID != m.ConversationID {
		t.Fatalf("second browser: visitor %s conversation %v, want %s %s", two.Visitor.ID, two.ConversationID, one.Visitor.ID, m.ConversationID)
	}
	// A third browser whose anonymous visitor exists also joins the user.
	other := newSession(t, s, s.Workspace.SiteKey, "")
	three, _ := identify(t, s, other.VisitorToken, id, http.StatusOK)
	if three.Visitor.ID != one.Visitor.ID || three.ConversationID == nil || *three.ConversationID != m.ConversationID {
		t.Fatalf("third browser: visitor %s conversation %v, want %s %s", three.Visitor.ID, three.ConversationID, one.Visitor.ID, m.ConversationID)
	}
	// Another user of the site in the first browser is another visitor.
	bob := identity{UserID: "user-43", Email: "bob@example.com", Hash: chat.IdentityHash(secret, "user-43")}
	b, _ := identify(t, s, one.VisitorToken, bob, http.StatusOK)
	if b.Visitor.ID == one.Visitor.ID || b.ConversationID != nil {
		t.Fatalf("another user took the first visitor: %+v", b)
	}
}

func TestIdentityRefusesForgedHashes(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	secret := identitySecret(t, s, a)
	victim := identity{UserID: "user-1", Email: "victim@example.com", Hash: chat.IdentityHash(secret, "user-1")}
	v, _ := identify(t, s, "", victim, http.StatusOK)
	attacker := chat.IdentityHash(secret, "user-2") // the attacker's own valid hash

	tests := []struct {
		name string
		id   identity
	}{
		{"forged hash", identity{UserID: "user-1", Email: "victim@example.com", Hash: chat.IdentityHash("guessed-secret", "user-1")}},
		{"hash replayed for another user id", identity{UserID: "user-1", Email: "x@example.com", Hash: attacker}},
		{"uppercase hex", identity{UserID: "user-1", Email: "victim@example.com", Hash: "X" + victim.Hash[1:]}},
		{"truncated", identity{UserID: "user-1", Email: "victim@example.com", Hash: victim.Hash[:32]}},
		{"not hex", identity{UserID: "user-1", Email: "victim@example.com", Hash: "zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, raw := identify(t, s, "", tt.id, http.StatusUnauthorized)
			if code := apptest.ErrorCode(raw); code != "identity_invalid" {
				t.Fatalf("code %q", code)
			}
		})
	}
	// An old secret's hashes stop verifying once it is rotated.
	s.Do("POST", "/api/v1/settings/identity-secret", a.Token, nil, http.StatusOK, nil)
	identify(t, s, "", victim, http.StatusUnauthorized)
	// Nothing above changed the victim.
	got, err := s.App.DB.VisitorByID(t.Context(), v.Visitor.ID)
	if err != nil || got.Email == nil || *got.Email != "victim@example.com" {
		t.Fatalf("victim now %+v (%v)", got, err)
	}
}

func TestIdentityVerificationSetting(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	secret := identitySecret(t, s, a)
	unsigned := identity{UserID: "user-7", Email: "sam@example.com", Name: "Sam"}

	// Off: an identity without a hash only fills in this browser's contact details.
	sess, _ := identify(t, s, "", unsigned, http.StatusOK)
	if sess.Visitor.Email == nil || *sess.Visitor.Email != "sam@example.com" || sess.Visitor.UserID != nil {
		t.Fatalf("unsigned identity: %+v", sess.Visitor)
	}
	other, _ := identify(t, s, "", unsigned, http.StatusOK)
	if other.Visitor.ID == sess.Visitor.ID {
		t.Fatalf("an unsigned identity resumed another browser's visitor")
	}

	// On: the same is refused; a valid hash still works.
	var st model.Settings
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]bool{"identity_verification": true}, http.StatusOK, &st)
	if !st.IdentityVerification {
		t.Fatalf("settings %+v", st)
	}
	_, raw := identify(t, s, "", unsigned, http.StatusUnauthorized)
	if code := apptest.ErrorCode(raw); code != "identity_invalid" {
		t.Fatalf("code %q", code)
	}
	if !strings.Contains(string(raw), "needs its hash") { // not "does not match": there is none
		t.Errorf("an identity without a hash is told %s", raw)
	}
	signed := unsigned
	signed.Hash = chat.IdentityHash(secret, unsigned.UserID)
	identify(t, s, "", signed, http.StatusOK)
	// Without an identity at all, the widget works as before.
	newSession(t, s, s.Workspace.SiteKey, "")
}

func TestContactFrameCannotChangeVerifiedEmail(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	secret := identitySecret(t, s, a)
	id := identity{UserID: "u9", Email: "real@example.com", Hash: chat.IdentityHash(secret, "u9")}
	sess, _ := identify(t, s, "", id, http.StatusOK)

	ws := s.DialWidget(sess.VisitorToken)
	defer ws.Close()
	ws.Send(map[string]string{"type": "contact", "email": "attacker@example.com"})
	f := ws.WaitFor("error", 5*time.Second)
	if f["code"] != "forbidden" {
		t.Fatalf("error frame %v", f)
	}
	// The same address (a name change) is still taken.
	ws.Send(map[string]string{"type": "contact", "email": "real@example.com", "name": "Real Name"})
	ws.WaitFor("contact", 5*time.Second)
	// An unsigned identity cannot change it either.
	identify(t, s, sess.VisitorToken, identity{UserID: "u9", Email: "attacker@example.com"}, http.StatusOK)
	got, err := s.App.DB.VisitorByID(t.Context(), sess.Visitor.ID)
	if err != nil || got.Email == nil || *got.Email != "real@example.com" {
		t.Fatalf("visitor now %+v (%v)", got, err)
	}
}

// A visitor the site identified opts in at once, without the email that
// asks an anonymous visitor's address to confirm: the site vouches for it.
func TestIdentifiedVisitorOptsInAtOnce(t *testing.T) {
	relay := apptest.StartRelay(t)
	s := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL})
	admin := s.AddAgent("ann@example.com", "Ann")
	secret := identitySecret(t, s, admin)
	if _, err := s.App.DB.StopEmailAddress(t.Context(), s.Workspace.ID, "lea@example.com", model.EmailUnsubscribed,
		model.EmailStatusByUnsubscribe, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	sess, _ := identify(t, s, "", identity{UserID: "user-42", Email: "lea@example.com", Hash: chat.IdentityHash(secret, "user-42")}, http.StatusOK)
	ws := s.DialWidget(sess.VisitorToken)
	ws.Send(map[string]any{"type": "contact", "email": "lea@example.com", "email_opt_in": true})
	f := ws.WaitFor("contact", wait)
	if st := f["visitor"].(map[string]any)["email_status"]; st != "ok" {
		t.Fatalf("an identified visitor's opt-in: status %v", st)
	}
	if n := len(relay.Mails()); n != 0 {
		t.Errorf("%d emails for an identified visitor's opt-in", n)
	}
}
