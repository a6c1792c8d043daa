package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/webhook"
)

// fakeResolver answers names from a table, as a DNS server an attacker
// controls would.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		// As Go's resolver says it, naming the DNS server it asked.
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.255.255.53:53", IsNotFound: true}
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

func TestValidateURL(t *testing.T) {
	res := fakeResolver{
		"hooks.example.com":  {"93.184.215.14"},
		"evil.example.com":   {"127.0.0.1"},
		"mixed.example.com":  {"93.184.215.14", "10.1.2.3"},
		"meta.example.com":   {"169.254.169.254"},
		"mapped.example.com": {"::ffff:127.0.0.1"},
		"v6.example.com":     {"2606:2800:220:1:248:1893:25c8:1946"},
	}
	tests := []struct {
		url     string
		private bool
		ok      bool
		why     string
	}{
		{"https://hooks.example.com/parley", false, true, ""},
		{"http://hooks.example.com:8080/x?y=1", false, true, ""},
		{"https://v6.example.com/", false, true, ""},
		{"https://93.184.215.14/hook", false, true, ""},
		{"https://user:pass@hooks.example.com/", false, false, "user name or password"},
		{"https://token@hooks.example.com/", false, false, "user name or password"},
		{"ftp://hooks.example.com/", false, false, "scheme"},
		{"file:///etc/passwd", false, false, "scheme"},
		{"gopher://hooks.example.com:70/", false, false, "scheme"},
		{"javascript:alert(1)", false, false, "scheme"},
		{"//hooks.example.com/", false, false, "scheme"},
		{"", false, false, "empty"},
		{"https:///nohost", false, false, "no host"},
		{"https://hooks.example.com:22/", false, false, "port 22"},
		{"http://hooks.example.com:25/", false, false, "port 25"},
		{"http://hooks.example.com:0/", false, false, "port"},
		{"http://hooks.example.com:99999/", false, false, "port"},
		{"http://127.0.0.1/", false, false, "loopback"},
		{"http://127.1.2.3:8080/", false, false, "loopback"},
		{"http://[::1]/", false, false, "loopback"},
		{"http://[::ffff:127.0.0.1]/", false, false, "loopback"},
		{"http://[::ffff:7f00:1]/", false, false, "loopback"},
		{"http://10.0.0.5/", false, false, "private"},
		{"http://172.16.3.4/", false, false, "private"},
		{"http://192.168.1.1/", false, false, "private"},
		{"http://[fd00:ec2::254]/", false, false, "private"},
		{"http://169.254.169.254/latest/meta-data/", false, false, "link-local"},
		{"http://[fe80::1]/", false, false, "link-local"},
		{"http://100.100.100.200/", false, false, "reserved"},
		{"http://0.0.0.0/", false, false, "unspecified"},
		{"http://[::]/", false, false, "unspecified"},
		{"http://[64:ff9b::7f00:1]/", false, false, "reserved"},
		{"http://[::127.0.0.1]:8080/", false, false, "reserved"},
		{"http://[::10.0.0.1]:18420/", false, false, "reserved"},
		{"http://[2001::1]/", false, false, "reserved"},
		{"http://localhost:8080/", false, false, "internal host"},
		{"http://api.localhost/", false, false, "internal host"},
		{"http://metadata.google.internal/", false, false, "internal host"},
		{"http://evil.example.com/", false, false, "loopback"},
		{"http://mixed.example.com/", false, false, "private"},
		{"http://meta.example.com/", false, false, "link-local"},
		{"http://mapped.example.com/", false, false, "loopback"},
		{"http://unknown.example.com/", false, false, "the host unknown.example.com does not resolve to an address"},
		// With PARLEY_WEBHOOK_ALLOW_PRIVATE: loopback is fine, credentials,
		// schemes and ports are still refused.
		{"http://127.0.0.1:8080/", true, true, ""},
		{"http://localhost:9000/", true, true, ""},
		{"http://u:p@127.0.0.1:8080/", true, false, "user name or password"},
		{"ftp://127.0.0.1/", true, false, "scheme"},
		{"http://127.0.0.1:25/", true, false, "port 25"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := webhook.ValidateURL(t.Context(), tc.url, tc.private, res)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got == "" {
					t.Fatal("empty URL returned")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %q", got)
			}
			if !errors.Is(err, webhook.ErrForbidden) {
				t.Errorf("error %v does not wrap ErrForbidden", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("error %q does not say %q", err, tc.why)
			}
			if strings.Contains(err.Error(), "lookup") {
				t.Errorf("error %q tells the resolver's own error", err)
			}
		})
	}
}

// receiver is a test server counting its requests.
func receiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestPostRefusedAfterResolution: a URL registered while its name pointed
// elsewhere is refused at delivery once it resolves to loopback, by the
// dialer, before any byte is sent.
func TestPostRefusedAfterResolution(t *testing.T) {
	srv, hits := receiver(t, func(w http.ResponseWriter, _ *http.Request) {})
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	d := webhook.New(nil, webhook.Options{Timeout: 2 * time.Second})
	for _, u := range []string{
		"http://localhost:" + port + "/",
		"http://127.0.0.1:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
	} {
		t.Run(u, func(t *testing.T) {
			res := d.Post(t.Context(), u, "s", "ev1", "message.created", []byte(`{}`))
			if res.OK() || !errors.Is(res.Err, webhook.ErrForbidden) {
				t.Fatalf("result %+v, want a refusal by the dialer", res)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback receiver was reached %d times", n)
	}
}

func TestPostAnswers(t *testing.T) {
	private, privateHits := receiver(t, func(w http.ResponseWriter, _ *http.Request) {})
	big := strings.Repeat("x", 10<<20)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		ok      bool
		check   func(t *testing.T, r webhook.Result)
	}{
		{"redirect to a private address is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, private.URL+"/steal", http.StatusFound)
		}, false, func(t *testing.T, r webhook.Result) {
			if r.StatusCode != http.StatusFound || r.Err == nil || !strings.Contains(r.Err.Error(), "not followed") {
				t.Errorf("result %+v", r)
			}
			if n := privateHits.Load(); n != 0 {
				t.Errorf("the redirect target was reached %d times", n)
			}
		}},
		{"redirect to metadata is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
		}, false, nil},
		{"a receiver that hangs times out", func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client leaving.
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}, false, func(t *testing.T, r webhook.Result) {
			if r.Err == nil || r.StatusCode != 0 {
				t.Errorf("result %+v, want a timeout", r)
			}
		}},
		{"a receiver that answers 10 MB is read only a little", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, big)
		}, true, func(t *testing.T, r webhook.Result) {
			if n := len([]rune(r.Excerpt)); n > webhook.ExcerptLimit+1 {
				t.Errorf("excerpt of %d characters kept", n)
			}
		}},
		{"a 10 MB error answer", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, big)
		}, false, func(t *testing.T, r webhook.Result) {
			if r.StatusCode != 500 || len(r.Excerpt) > 4*webhook.ExcerptLimit {
				t.Errorf("status %d, excerpt %d bytes", r.StatusCode, len(r.Excerpt))
			}
		}},
		{"204 is a success", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, true, nil},
		{"410 is a failure", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }, false, nil},
	}
	// Loopback receivers need AllowPrivate; the timeout is shortened so the
	// hanging receiver does not hold the test for the production 10 s.
	d := webhook.New(nil, webhook.Options{AllowPrivate: true, Timeout: 500 * time.Millisecond})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := receiver(t, tc.handler)
			res := d.Post(t.Context(), srv.URL+"/hook", "secret", "ev1", "message.created", []byte(`{"id":"ev1"}`))
			if res.OK() != tc.ok {
				t.Fatalf("OK() = %v, want %v (%+v)", res.OK(), tc.ok, res)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func TestSign(t *testing.T) {
	// Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
	got := webhook.Sign("whsec_test", time.Unix(1700000000, 0), []byte(`{"a":1}`))
	want := "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}
