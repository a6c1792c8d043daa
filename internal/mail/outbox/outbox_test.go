package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/mail/relay"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// fixture is a database with one conversation to hang emails on.
type fixture struct {
	db                  *store.DB
	ws, visitor, convID string
	chat                *chat.Service // records the outcomes, as in Parley
	hub                 *realtime.Hub
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f := &fixture{db: db, ws: model.NewID(), visitor: model.NewID(), convID: model.NewID()}
	must(t, db.CreateWorkspace(ctx, model.Workspace{ID: f.ws, Name: "W", SiteKey: f.ws, TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: now}))
	email := "v@example.com"
	must(t, db.CreateVisitor(ctx, model.Visitor{ID: f.visitor, WorkspaceID: f.ws, Email: &email, EmailStatus: "ok", CreatedAt: now}))
	must(t, db.CreateConversation(ctx, model.Conversation{ID: f.convID, WorkspaceID: f.ws, Visitor: model.Visitor{ID: f.visitor}, Status: "open", Channel: "website", CreatedAt: now, LastMessageAt: now}))
	f.hub = realtime.NewHub()
	f.chat = chat.New(db, f.hub, token.NewSigner([]byte("test-secret-0123456789")), chat.Options{Logger: slog.New(slog.DiscardHandler)})
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var sample = []byte("From: a@example.com\r\nTo: v@example.com\r\nSubject: hi\r\nMessage-ID: <x@example.com>\r\n\r\nHello there, this is a forwarded reply of ordinary length.\r\n")

// queue puts n emails in the outbox, each carrying one agent reply.
func (f *fixture) queue(t testing.TB, n int) []string { return f.queueIn(t, n, false) }

// queueBurst is queue with each email in a conversation of its own, as
// when many visitors leave at once.
func (f *fixture) queueBurst(t testing.TB, n int) []string { return f.queueIn(t, n, true) }

func (f *fixture) queueIn(t testing.TB, n int, spread bool) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	now := time.Now()
	for i := range ids {
		convID := f.convID
		if spread {
			convID = model.NewID()
			must(t, f.db.CreateConversation(ctx, model.Conversation{ID: convID, WorkspaceID: f.ws, Visitor: model.Visitor{ID: f.visitor},
				Status: "open", Channel: "website", CreatedAt: now, LastMessageAt: now}))
		}
		e := store.Email{ID: model.NewID(), WorkspaceID: f.ws, ConversationID: convID, VisitorID: f.visitor,
			MessageID: fmt.Sprintf("<%d.%s@example.com>", i, model.NewID()), From: "parley@example.com", To: "v@example.com",
			Raw: sample, NextAttemptAt: now.Add(time.Duration(i-n) * time.Microsecond), CreatedAt: now} // claimed in order
		author := "agent"
		reply := model.Message{ID: model.NewID(), WorkspaceID: f.ws, ConversationID: convID,
			Author: model.Author{Kind: "agent", Name: &author}, Kind: "reply", Channel: "dashboard", Body: "r", CreatedAt: now}
		must(t, f.db.CreateMessage(ctx, reply))
		must(t, f.db.InTx(ctx, func(tx *store.Store) error {
			if err := tx.CreateEmail(ctx, e); err != nil {
				return err
			}
			return tx.MarkForwarded(ctx, []string{reply.ID}, e.ID, e.To, now)
		}))
		ids[i] = e.ID
	}
	return ids
}

func (f *fixture) status(t testing.TB, id string) store.Email {
	t.Helper()
	e, err := f.db.Email(context.Background(), id)
	must(t, err)
	return e
}

type fakeSender struct {
	mu    sync.Mutex
	errs  []error // returned in turn; nil when exhausted
	calls int
}

func (s *fakeSender) Send(context.Context, string, []string, []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

func run(t *testing.T, w *outbox.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestDeliveryOutcomes(t *testing.T) {
	perm := errors.New("550 no such user")
	tests := []struct {
		name       string
		errs       []error
		giveUp     time.Duration
		wantStatus string
		wantCalls  int
	}{
		{"accepted", nil, 0, "sent", 1},
		{"temporary then accepted", []error{errors.New("451 busy"), errors.New("connection reset")}, 0, "sent", 3},
		{"permanent", []error{perm}, 0, "failed", 1},
		{"temporary past the give-up age", []error{errors.New("451 busy")}, time.Nanosecond, "failed", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.queue(t, 1)[0]
			sender := &fakeSender{errs: tt.errs}
			w := outbox.New(f.db, sender, f.chat, outbox.Options{
				IsPermanent: func(err error) bool { return err == perm },
				RetryBase:   10 * time.Millisecond, GiveUpAfter: tt.giveUp,
			})
			run(t, w)
			apptest.Eventually(t, 5*time.Second, "final status", func() bool { return f.status(t, id).Status == tt.wantStatus })
			sender.mu.Lock()
			calls := sender.calls
			sender.mu.Unlock()
			if calls != tt.wantCalls {
				t.Errorf("%d attempts, want %d", calls, tt.wantCalls)
			}
			msgs, err := f.db.Messages(context.Background(), f.ws, f.convID, false)
			must(t, err)
			if got := msgs[0].Forwarded.Status; got != tt.wantStatus {
				t.Errorf("reply status %q, want %q", got, tt.wantStatus)
			}
			if e := f.status(t, id); tt.wantStatus == "failed" && e.LastError == "" {
				t.Errorf("a failed email keeps no error text")
			}
		})
	}
}

// Each outcome reaches the agents' dashboards through the chat service.
func TestOutcomeReachesDashboards(t *testing.T) {
	f := newFixture(t)
	f.queue(t, 1)
	must(t, f.db.SetForwardState(context.Background(), f.convID, model.Forwarding{Code: "queued", Reason: "emailed"}))
	frames := make(chan []byte, 10)
	c := realtime.NewConn(f.ws, "", "agent")
	c.Start(func(b []byte) error { frames <- b; return nil }, func() {})
	f.hub.Register(c)
	t.Cleanup(func() { f.hub.Unregister(c); c.Kill() })
	run(t, outbox.New(f.db, &fakeSender{}, f.chat, outbox.Options{Logger: slog.New(slog.DiscardHandler)}))
	next := func() []byte {
		t.Helper()
		select {
		case b := <-frames:
			return b
		case <-time.After(time.Minute):
			t.Fatal("no event reached the dashboard")
			return nil
		}
	}
	var reply struct {
		Type string        `json:"type"`
		Data model.Message `json:"data"`
	}
	b := next()
	must(t, json.Unmarshal(b, &reply))
	if reply.Type != "message.updated" || reply.Data.Forwarded == nil || reply.Data.Forwarded.Status != "sent" {
		t.Errorf("dashboard got %s, want the reply's message.updated with status sent", b)
	}
	var conv struct {
		Type string             `json:"type"`
		Data model.Conversation `json:"data"`
	}
	b = next()
	must(t, json.Unmarshal(b, &conv))
	if conv.Type != "conversation.updated" || conv.Data.ID != f.convID || conv.Data.Forwarding == nil || conv.Data.Forwarding.Code != "sent" {
		t.Errorf("dashboard got %s, want the conversation.updated with its forwarding sent", b)
	}
}

// TestOutcomesQueueWebhookEvents: each email accepted by the relay queues
// one email.sent for the workspace's webhook, with its outcome.
func TestOutcomesQueueWebhookEvents(t *testing.T) {
	f := newFixture(t)
	hook := store.Webhook{ID: model.NewID(), WorkspaceID: f.ws, URL: "https://hooks.example.com/parley",
		Events: []string{"email.sent"}, Secret: "s3cret-s3cret-s3cret", CreatedAt: time.Now()}
	must(t, f.db.CreateWebhook(context.Background(), hook))
	srv, r := startRelay(t, 4)
	ids := f.queueBurst(t, 20)
	run(t, outbox.New(f.db, r, f.chat, outbox.Options{IsPermanent: relay.IsPermanent, Parallel: 4, Logger: slog.New(slog.DiscardHandler)}))
	srv.Wait(t, len(ids), time.Minute)
	for _, id := range ids {
		apptest.Eventually(t, 10*time.Second, "email "+id+" recorded as sent", func() bool { return f.status(t, id).Status == "sent" })
	}
	n, err := f.db.PendingWebhookDeliveries(context.Background(), hook.ID, time.Now())
	must(t, err)
	if n != len(ids) {
		t.Errorf("%d webhook events queued for %d emails sent, want one each", n, len(ids))
	}

	// The relay's "sent" recorded after the email's bounce: the email
	// stays bounced, and no email.sent follows its email.bounced.
	ctx := context.Background()
	bounced := f.queue(t, 1)[0]
	now := time.Now()
	if _, err := f.db.SetEmailStatus(ctx, bounced, "bounced", now, "bounced: 5.1.1", now); err != nil {
		t.Fatal(err)
	}
	must(t, f.chat.EmailDeliveries(ctx, []outbox.Delivery{{EmailID: bounced, WorkspaceID: f.ws, ConversationID: f.convID,
		To: "v@example.com", Status: model.DeliverySent, Next: now, At: now, QueuedAt: now}}))
	if st := f.status(t, bounced).Status; st != "bounced" {
		t.Errorf("bounced email after a late sent: %q", st)
	}
	if m, err := f.db.PendingWebhookDeliveries(ctx, hook.ID, time.Now()); err != nil || m != n {
		t.Errorf("%d webhook events queued after a late sent of a bounced email (%v), want still %d", m, err, n)
	}
}

// answered counts the sends the relay accepted.
type answered struct {
	outbox.Sender
	ok atomic.Int64
}

func (a *answered) Send(ctx context.Context, from string, to []string, msg []byte) error {
	err := a.Sender.Send(ctx, from, to, msg)
	if err == nil {
		a.ok.Add(1)
	}
	return err
}

// TestOutcomesRecordedAtShutdown: the relay's answers still waiting to be
// written when the worker is stopped are written before it returns.
func TestOutcomesRecordedAtShutdown(t *testing.T) {
	f := newFixture(t)
	_, r := startRelay(t, 1)
	ids := f.queue(t, 5)
	rep := &batchRefuser{Reporter: f.chat, gate: make(chan struct{})} // holds the first outcome
	sender := &answered{Sender: r}
	w := outbox.New(f.db, sender, rep, outbox.Options{IsPermanent: relay.IsPermanent, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	// Stopped once the relay answered all (a send the stop interrupts is
	// left leased, to be tried again: not what this test is about).
	apptest.Eventually(t, time.Minute, "the relay answered every email", func() bool { return sender.ok.Load() == int64(len(ids)) })
	cancel()
	close(rep.gate)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the worker did not stop")
	}
	for _, id := range ids {
		if st := f.status(t, id).Status; st != "sent" {
			t.Errorf("email %s is %q after the worker stopped, want sent", id, st)
		}
	}
}

func TestBackoffIsCappedAndGrows(t *testing.T) {
	w := outbox.New(nil, nil, nil, outbox.Options{RetryBase: 10 * time.Second, RetryMax: 30 * time.Minute})
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		d := w.Backoff(n)
		if d < prev*9/10 {
			t.Errorf("backoff %d (%v) shrank from %v", n, d, prev)
		}
		if d > 33*time.Minute {
			t.Errorf("backoff %d is %v: above the cap, an email could be more than an hour late", n, d)
		}
		prev = d
	}
	// Retries for at least a day fit in the give-up window.
	total := time.Duration(0)
	n := 1
	for total < 24*time.Hour {
		total += w.Backoff(n)
		n++
	}
	if n < 10 {
		t.Errorf("only %d attempts in 24h", n)
	}
}

// TestNoRelayKeepsEmailsQueued: without a relay an email stays in the
// outbox; once Parley restarts with one, it goes at once, not a day later.
func TestNoRelayKeepsEmailsQueued(t *testing.T) {
	f := newFixture(t)
	id := f.queue(t, 1)[0]
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		outbox.New(f.db, nil, f.chat, outbox.Options{Logger: slog.New(slog.DiscardHandler)}).Run(ctx)
		close(done)
	}()
	apptest.Eventually(t, 5*time.Second, "undeliverable noted", func() bool {
		e := f.status(t, id)
		return e.Status == "queued" && strings.Contains(e.LastError, "no relay")
	})
	stop()
	<-done

	srv, r := startRelay(t, 1)
	run(t, outbox.New(f.db, r, f.chat, outbox.Options{IsPermanent: relay.IsPermanent, Logger: slog.New(slog.DiscardHandler)}))
	srv.Wait(t, 1, 10*time.Second)
	apptest.Eventually(t, 10*time.Second, "the kept email recorded as sent", func() bool { return f.status(t, id).Status == "sent" })
}

// BenchmarkOutbox delivers queued emails through the relay client to a
// loopback SMTP server; BenchmarkBareSMTPLoop sends the same message with a
// bare go-smtp client loop on one connection, for the ratio.
// TestParallelDeliverySendsEachOnce: with several connections to the
// relay, every queued email is handed over once and recorded as sent.
func TestParallelDeliverySendsEachOnce(t *testing.T) {
	f := newFixture(t)
	srv, r := startRelay(t, 4)
	ids := f.queue(t, 120)
	run(t, outbox.New(f.db, r, f.chat, outbox.Options{IsPermanent: relay.IsPermanent, Parallel: 4,
		Logger: slog.New(slog.DiscardHandler)}))
	srv.Wait(t, len(ids), time.Minute)
	for _, id := range ids {
		apptest.Eventually(t, 10*time.Second, "email "+id+" recorded as sent", func() bool { return f.status(t, id).Status == "sent" })
	}
	if n := srv.Attempts(); n != len(ids) {
		t.Errorf("relay saw %d messages, want %d", n, len(ids))
	}
}

// startRelay starts a loopback relay and a client of it with conns
// connections.
func startRelay(t *testing.T, conns int) (*apptest.Relay, *relay.Relay) {
	t.Helper()
	srv := apptest.StartRelay(t)
	r, err := relay.New(relay.Config{URL: srv.URL, Connections: conns})
	must(t, err)
	t.Cleanup(func() { r.Close() })
	return srv, r
}

// batchRefuser records through the chat service, but refuses any batch of
// several outcomes that holds poison; its first call waits for gate, so
// that the outcomes that come meanwhile are offered together.
type batchRefuser struct {
	outbox.Reporter
	poison  string
	gate    chan struct{}
	calls   atomic.Int64
	refused atomic.Int64
}

func (r *batchRefuser) EmailDeliveries(ctx context.Context, ds []outbox.Delivery) error {
	if r.calls.Add(1) == 1 {
		<-r.gate
	}
	for _, d := range ds {
		if d.EmailID == r.poison && len(ds) > 1 {
			r.refused.Add(1)
			return errors.New("refused")
		}
	}
	return r.Reporter.EmailDeliveries(ctx, ds)
}

// TestOutcomesRecordedTogether: while an outcome is being recorded, the
// relay goes on, and the outcomes that came meanwhile are recorded
// together; when that batch cannot be recorded, each is recorded alone,
// so one bad outcome holds back no other.
func TestOutcomesRecordedTogether(t *testing.T) {
	f := newFixture(t)
	srv, r := startRelay(t, 1)
	ids := f.queue(t, 10)
	// One at a time: by the time the relay has the last email, the
	// outcomes of all but the first and the last wait to be recorded.
	rep := &batchRefuser{Reporter: f.chat, poison: ids[len(ids)/2], gate: make(chan struct{})}
	run(t, outbox.New(f.db, r, rep, outbox.Options{IsPermanent: relay.IsPermanent, Logger: slog.New(slog.DiscardHandler)}))
	// The first outcome's recording is held: the relay takes all the same.
	srv.Wait(t, len(ids), time.Minute)
	close(rep.gate)
	for _, id := range ids {
		apptest.Eventually(t, 10*time.Second, "email "+id+" recorded as sent", func() bool { return f.status(t, id).Status == "sent" })
	}
	if rep.refused.Load() == 0 {
		t.Errorf("no batch held email %s (%d calls): the outcomes were not recorded together", rep.poison, rep.calls.Load())
	}
}

// BenchmarkOutbox delivers b.N queued emails, each of its own
// conversation, through the relay on conns connections, against
// BenchmarkBareSMTPLoop's floor with as many.
func BenchmarkOutbox(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			f := newFixture(b)
			srv := apptest.StartRelay(b)
			r, err := relay.New(relay.Config{URL: srv.URL, Connections: conns})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			ids := f.queueBurst(b, b.N)
			w := outbox.New(f.db, r, f.chat, outbox.Options{IsPermanent: relay.IsPermanent, Parallel: conns, Logger: slog.New(slog.DiscardHandler)})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ResetTimer()
			go w.Run(ctx)
			srv.Wait(b, b.N, 5*time.Minute)
			b.StopTimer()
			apptest.Eventually(b, 10*time.Second, "last status recorded", func() bool { return f.status(b, ids[len(ids)-1]).Status == "sent" })
		})
	}
}

// BenchmarkBareSMTPLoop sends b.N messages with go-smtp alone, split over
// conns connections: the least a delivery can cost.
func BenchmarkBareSMTPLoop(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			srv := apptest.StartRelay(b)
			clients := make([]*smtp.Client, conns)
			for i := range clients {
				c, err := smtp.Dial(srv.Addr)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if err := c.Hello("localhost"); err != nil {
					b.Fatal(err)
				}
				clients[i] = c
			}
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if err := c.SendMail("parley@example.com", []string{"v@example.com"}, strings.NewReader(string(sample))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
