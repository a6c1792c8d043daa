package webhook_test

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/webhook"
)

// FuzzValidateURL: whatever URL an admin types, an accepted one is http(s)
// without credentials, on an allowed port, and its host is a public
// address or a name that resolved only to public ones.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example.com/x", "http://127.0.0.1/", "http://[::ffff:127.0.0.1]:8080/", "http://0x7f.1/",
		"http://2130706433/", "http://[0:0:0:0:0:ffff:7f00:1]/", "http://127.0.0.1%2f@evil/", "http://evil.example.com/",
		"HTTP://[fe80::1%25eth0]/", "https://u@93.184.215.14/", "http://93.184.215.14:080/", "http://[::1]:443/",
	} {
		f.Add(s)
	}
	res := fakeResolver{"hooks.example.com": {"93.184.215.14"}, "evil.example.com": {"127.0.0.1"}}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := webhook.ValidateURL(t.Context(), raw, false, res)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("accepted %q as unparsable %q", raw, got)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
			t.Fatalf("accepted %q as %q", raw, got)
		}
		if p := u.Port(); p != "" {
			n, _ := strconv.Atoi(p)
			if n < 1 || n > 65535 || (n < 1024 && n != 80 && n != 443) {
				t.Fatalf("accepted port %q of %q", p, raw)
			}
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if cerr := webhook.CheckAddr(ip); cerr != nil {
				t.Fatalf("accepted %q with a forbidden address: %v", raw, cerr)
			}
		} else if _, known := res[strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))]; !known {
			t.Fatalf("accepted %q whose host %q never resolved", raw, u.Hostname())
		}
	})
}
