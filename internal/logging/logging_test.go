package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/logging"
)

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jane@example.com", "j***@example.com"},
		{"j@example.com", "j***@example.com"},
		{"élodie@exemple.fr", "é***@exemple.fr"},
		{"reply+abc.def@reply.example.com", "r***@reply.example.com"},
		{"", ""},
		{"not an address", "***"},
		{"@example.com", "***"},
		{"jane@", "***"},
	}
	for _, tt := range tests {
		if got := logging.MaskEmail(tt.in); got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskEmails(t *testing.T) {
	tests := []struct{ in, want string }{
		{"550 5.1.1 <jane.doe@example.com>: no such user", "550 5.1.1 <j***@example.com>: no such user"},
		{"a@b.co and c@d.org", "a***@b.co and c***@d.org"},
		{"no address here", "no address here"},
	}
	for _, tt := range tests {
		if got := logging.MaskEmails(tt.in); got != tt.want {
			t.Errorf("MaskEmails(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		format  string
		check   func(t *testing.T, out string)
		wantErr bool
	}{
		{format: "text", check: func(t *testing.T, out string) {
			if !strings.Contains(out, `msg=hello`) || !strings.Contains(out, `k=v`) || !strings.Contains(out, `took=1.5ms`) {
				t.Errorf("text line %q", out)
			}
		}},
		{format: "", check: func(t *testing.T, out string) {
			if !strings.Contains(out, `msg=hello`) {
				t.Errorf("default is not text: %q", out)
			}
		}},
		{format: "json", check: func(t *testing.T, out string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("json line %q: %v", out, err)
			}
			if m["msg"] != "hello" || m["k"] != "v" {
				t.Errorf("json line %v", m)
			}
			if m["took"] != 0.0015 { // seconds, not a bare count of nanoseconds
				t.Errorf("json duration %v, want 0.0015", m["took"])
			}
		}},
		{format: "xml", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := logging.New(&buf, tt.format, slog.LevelInfo)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("hidden")
			log.Info("hello", "k", "v", "took", 1500*time.Microsecond)
			if strings.Contains(buf.String(), "hidden") {
				t.Error("debug line written at info level")
			}
			tt.check(t, strings.TrimSpace(buf.String()))
		})
	}
}
