package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/app"
	"github.com/parleychat/parley/internal/config"
	"github.com/parleychat/parley/internal/logging/logtest"
)

func writeKey(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Start-up warns when the DKIM signing domain is not aligned with the From
// domain: DMARC would then fail however valid the signature.
func TestStartWarnsAboutDKIMAlignment(t *testing.T) {
	tests := []struct {
		name, mailFrom, dkimDomain string
		wantWarning                bool
	}{
		{"same domain", "chat@shop.example.com", "shop.example.com", false},
		{"parent domain (relaxed alignment)", "chat@shop.example.com", "example.com", false},
		{"letter case", "chat@Shop.Example.com", "SHOP.example.COM", false},
		{"another domain", "chat@shop.example.com", "mailer.example.net", true},
		{"another organisation under a public suffix", "chat@shop.co.uk", "other.co.uk", true},
		{"no DKIM domain", "chat@shop.example.com", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{
				"PARLEY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "parley.db"),
				"PARLEY_SECRET":       "test-secret-0123456789abcdef",
				"PARLEY_MAIL_FROM":    tc.mailFrom,
				// A relay that is never used: the key is loaded with it.
				"PARLEY_SMTP_URL": "smtp://127.0.0.1:1",
			}
			if tc.dkimDomain != "" {
				vars["PARLEY_DKIM_DOMAIN"] = tc.dkimDomain
				vars["PARLEY_DKIM_SELECTOR"] = "s1"
				vars["PARLEY_DKIM_KEY_FILE"] = writeKey(t)
			}
			cfg, err := config.Load(func(k string) string { return vars[k] })
			if err != nil {
				t.Fatal(err)
			}
			var logs logtest.Buffer
			a, err := app.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			got := logs.String()
			warned := strings.Contains(got, "level=WARN") && strings.Contains(got, "is not aligned with the domain")
			if warned != tc.wantWarning {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tc.wantWarning, got)
			}
			if warned && !strings.Contains(got, "dkim_domain="+tc.dkimDomain) {
				t.Errorf("the warning does not name the DKIM domain: %s", got)
			}
		})
	}
}
