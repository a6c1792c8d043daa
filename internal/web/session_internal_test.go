package web

import (
	"encoding/hex"
	"strings"
	"testing"
)

// A login goes on to the page that asked for it, and only to a page of
// the dashboard on this site: a link to the login page cannot send an
// agent anywhere else.
func TestAfterLogin(t *testing.T) {
	tests := []struct{ next, want string }{
		{"", "/dashboard"},
		{"/dashboard", "/dashboard"},
		{"/dashboard?view=mine", "/dashboard?view=mine"},
		{"/dashboard/conversations/abc", "/dashboard/conversations/abc"},
		{"/dashboard/conversations/abc?view=all#msg-1", "/dashboard/conversations/abc?view=all"},
		{"/dashboard/settings/agents", "/dashboard/settings/agents"},
		{"/dashboard/login", "/dashboard"},
		{"/dashboard/logout", "/dashboard"},
		{"/dashboard/../api/v1/me", "/dashboard"},
		{"/dashboard/%2e%2e/api/v1/me", "/dashboard"},
		{"/dashboardx", "/dashboard"},
		{"/dashboard/", "/dashboard"},
		{"/", "/dashboard"},
		{"//evil.example/dashboard/x", "/dashboard"},
		{"https://evil.example/dashboard/x", "/dashboard"},
		{"javascript:alert(1)", "/dashboard"},
		{"/\\evil.example/dashboard", "/dashboard"},
		{"/dashboard/x\r\nSet-Cookie: a=b", "/dashboard"},
		{"dashboard/conversations/abc", "/dashboard"},
	}
	for _, tt := range tests {
		if got := afterLogin(tt.next); got != tt.want {
			t.Errorf("afterLogin(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

// Each response carries the session's CSRF secret under a new mask: two
// tokens of a session differ and both pass; another session's, a
// tampered one, or one of another shape does not. The bare secret, which
// pages of an earlier version carry, still passes.
func TestCSRFTokens(t *testing.T) {
	s := &Server{csrf: []byte("a key of this server's")}
	a, b := s.csrfToken("session-a"), s.csrfToken("session-a")
	if a == b {
		t.Fatalf("two responses carry the same token %s", a)
	}
	tampered := []byte(a) // another first digit of the mask
	if tampered[0] == '0' {
		tampered[0] = '1'
	} else {
		tampered[0] = '0'
	}
	bare := hex.EncodeToString(s.csrfSecret("session-a"))
	for _, tt := range []struct {
		name, token string
		want        bool
	}{
		{"a token", a, true},
		{"another response's", b, true},
		{"the bare secret", bare, true},
		{"another session's", s.csrfToken("session-b"), false},
		{"tampered", string(tampered), false},
		{"empty", "", false},
		{"not hex", strings.Repeat("z", len(a)), false},
		{"too short", a[:len(a)-2], false},
		{"too long", a + "00", false},
	} {
		if got := s.validCSRF("session-a", tt.token); got != tt.want {
			t.Errorf("%s (%q): valid %v, want %v", tt.name, tt.token, got, tt.want)
		}
	}
}
