package outbox_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/mail/outbox"
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// entries decodes every JSON line that names the email id.
func (b *logBuffer) entries(t *testing.T, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["email"] == id {
			out = append(out, m)
		}
	}
	return out
}

func TestDeliveryLoggedOncePerAttempt(t *testing.T) {
	tests := []struct {
		name     string
		sender   outbox.Sender
		wantMsgs []string
	}{
		{"retried then sent", &fakeSender{errs: []error{errors.New("451 4.2.0 <v@example.com>: mailbox busy")}},
			[]string{"email delivery failed; will retry", "email sent"}},
		{"no relay", nil,
			[]string{"email not sent: no relay configured (PARLEY_SMTP_URL); kept in the outbox, undeliverable until one is (PARLEY_LOG_LEVEL=debug logs its text)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.queue(t, 1)[0]
			var logs logBuffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			run(t, outbox.New(f.db, tt.sender, f.chat, outbox.Options{RetryBase: 10 * time.Millisecond, Logger: log}))
			apptest.Eventually(t, 5*time.Second, "every attempt logged", func() bool { return len(logs.entries(t, id)) >= len(tt.wantMsgs) })
			got := logs.entries(t, id)
			if len(got) != len(tt.wantMsgs) {
				t.Fatalf("%d lines for %d attempts:\n%s", len(got), len(tt.wantMsgs), logs.String())
			}
			for i, want := range tt.wantMsgs {
				if got[i]["msg"] != want || got[i]["to"] != "v***@example.com" || got[i]["conversation"] != f.convID {
					t.Errorf("line %d: %v", i, got[i])
				}
			}
			if all := logs.String(); strings.Contains(all, "v@example.com") {
				t.Errorf("the visitor's full address is in the log at info level:\n%s", all)
			}
		})
	}
}
