package web_test

import (
	"net/http"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
)

// A Parley whose public address is HTTPS tells browsers to keep to HTTPS
// (every answer: the login page, the widget's API, errors); one on plain
// HTTP does not.
func TestStrictTransportSecurity(t *testing.T) {
	for _, tc := range []struct {
		public, want string
	}{
		{"https://chat.example.com", "max-age=31536000"},
		{"", ""}, // the server's own http:// address
	} {
		env := map[string]string{}
		if tc.public != "" {
			env["PARLEY_PUBLIC_URL"] = tc.public
		}
		s := apptest.Start(t, env)
		for _, path := range []string{"/dashboard/login", "/healthz", "/api/v1/me", "/no-such-page"} {
			res, err := http.Get(s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Strict-Transport-Security"); got != tc.want {
				t.Errorf("public URL %q, %s: Strict-Transport-Security %q, want %q", tc.public, path, got, tc.want)
			}
		}
	}
}
