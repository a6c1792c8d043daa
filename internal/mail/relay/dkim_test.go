package relay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

type testKey struct {
	name string
	pem  []byte
}

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// testKeys returns the key forms LoadDKIM accepts.
func testKeys(t testing.TB) []testKey {
	t.Helper()
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []testKey{
		{"rsa-2048 pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())})},
		{"rsa-2048 pkcs8", pkcs8(rsaKey())},
		{"ed25519 pkcs8", pkcs8(ed)},
	}
}

// lookup answers DKIM key queries from cfg's TXT record, as DNS would.
func lookup(t *testing.T, cfg *DKIMConfig) func(string) ([]string, error) {
	t.Helper()
	name, value, err := cfg.TXTRecord()
	if err != nil {
		t.Fatal(err)
	}
	return func(domain string) ([]string, error) {
		if domain != name {
			return nil, errors.New("no such record: " + domain)
		}
		return []string{value}, nil
	}
}

func TestDKIMSignatureVerifies(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			ts := startServer(t, serverOptions{})
			cfg := &DKIMConfig{Domain: "example.com", Selector: "parley2026", KeyPEM: k.pem}
			r := newRelay(t, Config{URL: "smtp://" + ts.addr, DKIM: cfg})
			send(t, r, "signed")
			got := ts.messages()[0].data
			opts := &dkim.VerifyOptions{LookupTXT: lookup(t, cfg)}

			verifs, err := dkim.VerifyWithOptions(bytes.NewReader(got), opts)
			if err != nil || len(verifs) != 1 {
				t.Fatalf("verify: %d signatures, %v", len(verifs), err)
			}
			v := verifs[0]
			if v.Err != nil || v.Domain != "example.com" {
				t.Fatalf("verification %+v (err %v), want a valid signature by example.com", v, v.Err)
			}
			// Each protected field once more than the message holds it;
			// In-Reply-To, References and X-Auto-Response-Suppress, absent,
			// once.
			wantKeys := "From:From:To:To:Subject:Subject:Date:Date:Message-ID:Message-ID:Reply-To:Reply-To:" +
				"In-Reply-To:References:List-Unsubscribe:List-Unsubscribe:List-Unsubscribe-Post:List-Unsubscribe-Post:" +
				"MIME-Version:MIME-Version:Content-Type:Content-Type:Auto-Submitted:Auto-Submitted:X-Auto-Response-Suppress"
			if got := strings.Join(v.HeaderKeys, ":"); got != wantKeys {
				t.Errorf("signed header fields\n %s\nwant\n %s", got, wantKeys)
			}

			// What the signature protects: any change must break it.
			tampered := map[string][]byte{
				"subject":          bytes.Replace(got, []byte("Subject: signed"), []byte("Subject: Signed"), 1),
				"reply-to":         bytes.Replace(got, []byte("reply+abcdef@"), []byte("reply+abcdeg@"), 1),
				"list-unsubscribe": bytes.Replace(got, []byte("/u/xyz"), []byte("/u/xyZ"), 1),
				"body":             bytes.Replace(got, []byte("Ann\r\n"), []byte("Bob\r\n"), 1),
			}
			// A second copy of any protected field, added below the others
			// (where a verifier looks first) or at the very top.
			for _, field := range []string{
				"Subject: Your invoice", "List-Unsubscribe: <https://evil.example.net/u>", "From: boss@example.com",
				"To: someone@example.net", "Reply-To: evil@example.net", "Date: Sat, 03 Jan 2026 10:00:00 +0000",
				"Message-ID: <other@example.net>", "In-Reply-To: <x@example.net>", "References: <x@example.net>",
				"List-Unsubscribe-Post: List-Unsubscribe=One-Click", "Auto-Submitted: no",
				"X-Auto-Response-Suppress: None", "Content-Type: text/html", "MIME-Version: 1.0",
			} {
				name, _, _ := strings.Cut(field, ":")
				tampered["added "+name+" at the end"] = bytes.Replace(got, []byte("\r\n\r\n"), []byte("\r\n"+field+"\r\n\r\n"), 1)
				tampered["added "+name+" at the top"] = append([]byte(field+"\r\n"), got...)
			}
			for what, msg := range tampered {
				if bytes.Equal(msg, got) {
					t.Fatalf("tampering with %s changed nothing", what)
				}
				verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), opts)
				if err != nil || len(verifs) != 1 || verifs[0].Err == nil {
					t.Errorf("signature still verifies after %s (err %v)", what, err)
				}
			}
			// A field that is not protected may be added (relays add
			// Received and the like): the signature holds.
			extra := bytes.Replace(got, []byte("\r\n\r\n"), []byte("\r\nX-Relay-Note: scanned\r\n\r\n"), 1)
			if verifs, err := dkim.VerifyWithOptions(bytes.NewReader(extra), opts); err != nil || len(verifs) != 1 || verifs[0].Err != nil {
				t.Errorf("an unprotected field broke the signature: %v", err)
			}
		})
	}
}

// headerKeys counts fields across folded lines and in any letter case.
func TestHeaderKeys(t *testing.T) {
	tests := []struct {
		name, header string
		want         string // the protected part of h=, in order
	}{
		{"minimal", "From: a@example.com\r\n\r\nbody", "From:From:To:Subject:Date:Message-ID:Reply-To:In-Reply-To:References:" +
			"List-Unsubscribe:List-Unsubscribe-Post:MIME-Version:Content-Type:Auto-Submitted:X-Auto-Response-Suppress"},
		{"folded and repeated", "from: a@example.com\r\nReferences: <a@x>\r\n <b@x>\r\nREFERENCES: <c@x>\r\nSubject: x\r\n\tcontinued: not a field\r\n\r\nTo: in the body",
			"From:From:To:Subject:Subject:Date:Message-ID:Reply-To:In-Reply-To:References:References:References:" +
				"List-Unsubscribe:List-Unsubscribe-Post:MIME-Version:Content-Type:Auto-Submitted:X-Auto-Response-Suppress"},
		{"LF only", "From: a@example.com\nTo: b@example.com\n\nTo: body", "From:From:To:To:Subject:Date:Message-ID:Reply-To:In-Reply-To:References:" +
			"List-Unsubscribe:List-Unsubscribe-Post:MIME-Version:Content-Type:Auto-Submitted:X-Auto-Response-Suppress"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(headerKeys([]byte(tc.header)), ":"); got != tc.want {
				t.Errorf("headerKeys\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}

func TestLoadDKIM(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	keys := testKeys(t)

	tests := []struct {
		name     string
		file     string
		selector string
		domain   string
		wantErr  string // "" for success
	}{
		{name: keys[0].name, file: write("rsa1.pem", keys[0].pem), selector: "s1", domain: "example.com"},
		{name: keys[1].name, file: write("rsa8.pem", keys[1].pem), selector: "s1", domain: "example.com"},
		{name: keys[2].name, file: write("ed.pem", keys[2].pem), selector: "s1", domain: "mail.example.com"},
		{name: "missing file", file: filepath.Join(dir, "nope.pem"), selector: "s1", domain: "example.com", wantErr: "no such file"},
		{name: "not PEM", file: write("junk.pem", []byte("hello")), selector: "s1", domain: "example.com", wantErr: "no PEM block"},
		{name: "ECDSA", file: write("ec.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})), selector: "s1", domain: "example.com", wantErr: "RSA or Ed25519"},
		{name: "ECDSA in PKCS#8", file: write("ec8.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8})), selector: "s1", domain: "example.com", wantErr: "RSA or Ed25519"},
		{name: "encrypted", file: write("enc.pem", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})), selector: "s1", domain: "example.com", wantErr: "encrypted"},
		{name: "public key", file: write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})), selector: "s1", domain: "example.com", wantErr: `"PUBLIC KEY"`},
		{name: "RSA 512", file: "testdata/rsa512.pem", selector: "s1", domain: "example.com", wantErr: "512 bits"},
		{name: "empty selector", file: write("ok.pem", keys[2].pem), domain: "example.com", wantErr: "selector is empty"},
		{name: "selector with space", file: write("ok.pem", keys[2].pem), selector: "s 1", domain: "example.com", wantErr: "selector"},
		{name: "domain with semicolon", file: write("ok.pem", keys[2].pem), selector: "s1", domain: "example.com;x=1", wantErr: "domain"},
		{name: "domain with empty label", file: write("ok.pem", keys[2].pem), selector: "s1", domain: "example..com", wantErr: "empty label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadDKIM(tc.file, tc.selector, tc.domain)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadDKIM error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name, value, err := cfg.TXTRecord()
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.selector + "._domainkey." + tc.domain; name != want {
				t.Errorf("record name %q, want %q", name, want)
			}
			if !strings.HasPrefix(value, "v=DKIM1; k=") {
				t.Errorf("record value %q", value)
			}
		})
	}
}

func TestDKIMRefusesMessageWithoutHeader(t *testing.T) {
	ts := startServer(t, serverOptions{})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr, DKIM: &DKIMConfig{Domain: "example.com", Selector: "s1", KeyPEM: testKeys(t)[2].pem}})
	err := r.Send(context.Background(), testFrom, []string{testTo}, []byte("no header, no blank line"))
	if err == nil || !IsPermanent(err) {
		t.Fatalf("Send error %v, want a permanent one", err)
	}
}

func TestZoneTXT(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct{ name, value, want string }{
		{"short", "v=DKIM1; k=ed25519; p=abc", `s._domainkey.example.com. IN TXT ( "v=DKIM1; k=ed25519; p=abc" )`},
		{"split at 255", long, `s._domainkey.example.com. IN TXT ( "` + long[:255] + `" "` + long[255:] + `" )`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ZoneTXT("s._domainkey.example.com", tc.value); got != tc.want {
				t.Errorf("ZoneTXT = %q, want %q", got, tc.want)
			}
		})
	}
}
