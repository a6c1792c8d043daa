package outbox_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/logging/logtest"
	"github.com/parleychat/parley/internal/mail/outbox"
)

// entries decodes every JSON line that names the email id.
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
			var logs logtest.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			run(t, outbox.New(f.db, tt.sender, f.chat, outbox.Options{RetryBase: 10 * time.Millisecond, Logger: log}))
			apptest.Eventually(t, 5*time.Second, "every attempt logged", func() bool { return len(logs.Lines(t, "email", id)) >= len(tt.wantMsgs) })
			got := logs.Lines(t, "email", id)
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
