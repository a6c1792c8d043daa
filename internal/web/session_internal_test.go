package web

import "testing"

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
