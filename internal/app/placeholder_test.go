package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/app"
	"github.com/parleychat/parley/internal/config"
)

// A real relay with the mail settings made for trying Parley out is
// warned about at start, one setting at a time; set to real values, or
// without a relay, nothing is said.
func TestRelayWithLocalhostSettingsIsWarned(t *testing.T) {
	const (
		publicURL = "PARLEY_PUBLIC_URL is"
		mailFrom  = "PARLEY_MAIL_FROM is"
		inbound   = "PARLEY_INBOUND_DOMAIN is"
	)
	real := map[string]string{"PARLEY_PUBLIC_URL": "https://chat.example.com", "PARLEY_MAIL_FROM": "support@example.com", "PARLEY_INBOUND_DOMAIN": "reply.example.com"}
	tests := []struct {
		name string
		env  map[string]string
		want []string // warnings expected, of the three
	}{
		{"no relay", nil, nil},
		{"relay, defaults", map[string]string{"PARLEY_SMTP_URL": "smtp://relay.example.com:587"}, []string{publicURL, mailFrom, inbound}},
		{"relay, real settings", merge(real, map[string]string{"PARLEY_SMTP_URL": "smtp://relay.example.com:587"}), nil},
		{"relay, loopback public URL", merge(real, map[string]string{"PARLEY_SMTP_URL": "smtp://relay.example.com:587", "PARLEY_PUBLIC_URL": "http://127.0.0.1:8080"}), []string{publicURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := merge(tt.env, map[string]string{"PARLEY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "parley.db")})
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			for _, w := range []string{publicURL, mailFrom, inbound} {
				wanted := strings.Contains(strings.Join(tt.want, "|"), w)
				if got := strings.Contains(logs.String(), w); got != wanted {
					t.Errorf("warned of %q: %v, want %v\n%s", w, got, wanted, logs.String())
				}
			}
		})
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
