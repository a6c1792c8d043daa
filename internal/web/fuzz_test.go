package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/config"
)

// FuzzDecodeClientFrame feeds the widget frame decoder anything a client
// could send: it never panics, accepts only known types, and its refusal
// always encodes as a valid JSON error frame.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","body":"hi","client_id":"c1"}`,
		`{"type":"contact","email":"vera@example.com","name":"Vera"}`,
		`{"type":"read","message_id":"m1"}`,
		`{"type":"activity"}`,
		`{"type":"nonsense","client_id":"` + strings.Repeat("é", 30) + `"}`,
		`{"type":` + strings.Repeat("[", 10000),
		`[]`, `null`, `"message"`, "\xff\xfe", `{"type":"message","body":"\ud800"}`,
		`{"type":"message","type":"read"}`, `{"Type":"MESSAGE"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fr, bad := decodeClientFrame(raw)
		if bad == nil {
			switch fr.Type {
			case "message", "contact", "read", "activity":
			default:
				t.Fatalf("accepted a frame of type %q", fr.Type)
			}
			return
		}
		out := encodeFrame(errorFrame{Type: "error", Code: "bad_frame", Message: bad.message, ClientID: bad.clientID})
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("refusal is not valid JSON: %q", out)
		}
	})
}

// FuzzClientIP feeds the client address logic forged forwarding headers:
// it never panics, never believes a header from an untrusted peer, and
// never answers with a trusted proxy's address when the header names an
// untrusted one.
func FuzzClientIP(f *testing.F) {
	for _, seed := range []struct{ peer, xff, real string }{
		{"10.0.0.1:443", "203.0.113.5", ""},
		{"10.0.0.1:443", "198.51.100.1, 203.0.113.5, 10.0.0.2", ""},
		{"10.0.0.1:443", "", "203.0.113.7"},
		{"203.0.113.9:5000", "127.0.0.1", "127.0.0.1"},
		{"[2001:db8::1]:443", "[2001:db8::2]:80, garbage", ""},
		{"10.0.0.1:443", strings.Repeat("1.2.3.4,", 100), ""},
		{"10.0.0.1:443", "::ffff:10.0.0.9, fe80::1%eth0", ""},
	} {
		f.Add(seed.peer, seed.xff, seed.real)
	}
	trusted, err := config.ParsePrefixes("10.0.0.0/8, fd00::/8")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, peer, xff, real string) {
		r := &http.Request{RemoteAddr: peer, Header: http.Header{}}
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Real-IP", real)
		got := clientIP(r, trusted)
		p := peerAddr(peer)
		if !isTrusted(p, trusted) && got != p {
			t.Fatalf("believed a header from untrusted peer %v: %v", p, got)
		}
		if clientIP(r, nil) != p {
			t.Fatalf("believed a header with no trusted proxy configured")
		}
		if k := addrKey(got); k == "" {
			t.Fatalf("empty limit key for %v", got)
		}
		if p.Zone() != "" {
			t.Fatalf("peer address kept its zone: %v", p)
		}
	})
}
