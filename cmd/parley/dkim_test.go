package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/parleychat/parley/internal/mail/relay"
)

func TestDKIMKeygen(t *testing.T) {
	for _, typ := range []string{"rsa", "ed25519"} {
		t.Run(typ, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys", "dkim.pem")
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"dkim", "keygen", "--selector", "parley1", "--domain", "example.com", "--out", path, "--type", typ}, nil, &out, &errOut)
			if err != nil {
				t.Fatalf("keygen: %v (%s)", err, errOut.String())
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
			}
			m := regexp.MustCompile(`value: (v=DKIM1; k=` + typ + `; p=\S+)`).FindStringSubmatch(out.String())
			if m == nil || !strings.Contains(out.String(), "name:  parley1._domainkey.example.com") {
				t.Fatalf("output lacks the record:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "PARLEY_DKIM_SELECTOR=parley1") {
				t.Errorf("output lacks the settings:\n%s", out.String())
			}
			// The written key signs, and the printed record verifies it.
			cfg, err := relay.LoadDKIM(path, "parley1", "example.com")
			if err != nil {
				t.Fatal(err)
			}
			signed := signWith(t, cfg)
			verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
				if name != "parley1._domainkey.example.com" {
					return nil, errors.New("no record " + name)
				}
				return []string{m[1]}, nil
			}})
			if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
				t.Fatalf("verify with the printed record: %v %+v", err, verifs)
			}

			// Never over an existing key.
			before, _ := os.ReadFile(path)
			if err := run(context.Background(), []string{"dkim", "keygen", "--selector", "parley1", "--domain", "example.com", "--out", path}, nil, &out, &errOut); err == nil {
				t.Error("keygen overwrote an existing key")
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the existing key changed")
			}
		})
	}
}

func TestDKIMKeygenBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no selector", []string{"--domain", "example.com"}, "usage"},
		{"no domain", []string{"--selector", "s1"}, "usage"},
		{"bad domain", []string{"--selector", "s1", "--domain", "example.com;x=1"}, "domain"},
		{"bad type", []string{"--selector", "s1", "--domain", "example.com", "--type", "ecdsa"}, "rsa or ed25519"},
		{"unknown flag", []string{"--selector", "s1", "--domain", "example.com", "--bits", "4096"}, "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".pem")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"dkim", "keygen", "--out", out}, tc.args...), nil, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a key file was written: %v", err)
			}
		})
	}
}

func signWith(t *testing.T, cfg *relay.DKIMConfig) []byte {
	t.Helper()
	msg := "From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhello\r\n"
	block, _ := pem.Decode(cfg.KeyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key file is not a PKCS#8 PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := parsed.(crypto.Signer)
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: cfg.Domain, Selector: cfg.Selector, Signer: key}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
