package forward

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

// TestRoundNextDue: after a round, the engine sleeps until the schedule's
// earliest due time, whether the round's own look at the schedule found it
// (nothing was due) or the schedule had to be read again (the round
// evaluated due conversations, which moved their due times).
func TestRoundNextDue(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	// Each round comes MaxIdle after the last, as the loop's wake-up
	// does: the schedule changed behind the engine's back, as another
	// node changes it.
	var later time.Duration
	e := NewEngine(db, token.NewSigner([]byte("test-secret-0123456789")), nil, EngineOptions{
		Timings: DefaultTimings, PublicURL: "https://chat.example.com", MailFrom: "chat@example.com",
		InboundDomain: "reply.example.com", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return time.Now().Add(later) }})
	f := newDraftFixture(t, db)
	schedule := func(due time.Time) {
		t.Helper()
		if err := db.SetForwardState(ctx, f.conv.ID, model.Forwarding{DueAt: &due, Code: "wait"}); err != nil {
			t.Fatal(err)
		}
	}
	inAnHour := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	tests := []struct {
		name  string
		setup func()
	}{
		{"nothing scheduled", func() {
			if err := db.SetForwardState(ctx, f.conv.ID, model.Forwarding{Code: "none"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"scheduled later", func() { schedule(inAnHour) }},
		{"due now: evaluated by the round", func() { schedule(time.Now().Add(-time.Minute)) }},
		{"scheduled later again", func() { schedule(inAnHour) }},
	}
	for _, tt := range tests {
		tt.setup()
		later += e.opts.MaxIdle
		if err := e.work(ctx); err != nil {
			t.Fatalf("%s: round: %v", tt.name, err)
		}
		got, err := e.nextDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.NextForwardDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (want == nil) || (got != nil && !got.Equal(*want)) {
			t.Errorf("%s: next due %v, want the schedule's %v", tt.name, got, want)
		}
	}
}
