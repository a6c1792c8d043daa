package forward_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/mail/relay"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// seed stores n conversations of identified visitors who left an hour ago,
// each with one agent reply; due sets their due time to now (else they are
// off the schedule, as idle conversations are).
func seed(b testing.TB, db *store.DB, n int, due bool) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	left := now.Add(-time.Hour)
	ws := model.NewID()
	err := db.InTx(ctx, func(tx *store.Store) error {
		w := model.Workspace{ID: ws, Name: "Shop", SiteKey: ws, TimeZone: "UTC", Settings: model.DefaultSettings(), AgentsUnavailableSince: &left, CreatedAt: now}
		if err := tx.CreateWorkspace(ctx, w); err != nil {
			return err
		}
		name := "Ann"
		for i := 0; i < n; i++ {
			email := fmt.Sprintf("v%d@example.com", i)
			v := model.Visitor{ID: model.NewID(), WorkspaceID: ws, Email: &email, EmailStatus: "ok", LeftAt: &left, LastActiveAt: &left, CreatedAt: left}
			c := model.Conversation{ID: model.NewID(), WorkspaceID: ws, Visitor: v, Status: "open", Channel: "website", CreatedAt: left, LastMessageAt: left}
			m := model.Message{ID: model.NewID(), WorkspaceID: ws, ConversationID: c.ID, Author: model.Author{Kind: "agent", Name: &name},
				Kind: "reply", Channel: "dashboard", Body: "Your order shipped today.", CreatedAt: left}
			if err := tx.CreateVisitor(ctx, v); err != nil {
				return err
			}
			if err := tx.CreateConversation(ctx, c); err != nil {
				return err
			}
			if err := tx.CreateMessage(ctx, m); err != nil {
				return err
			}
			if due {
				if err := tx.SetForwardState(ctx, c.ID, model.Forwarding{DueAt: &now, Code: "waiting"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// reporter is the chat service that records the outbox's outcomes.
func reporter(db *store.DB) outbox.Reporter {
	return chat.New(db, realtime.NewHub(), token.NewSigner([]byte("bench-secret-0123456789")), chat.Options{Logger: quietLog})
}

func newEngine(db *store.DB, queued func()) *forward.Engine {
	return newEngineWith(db, func(o *forward.EngineOptions) { o.Queued, o.Workers = queued, engineWorkers })
}

// newEngineWith is an engine with the tests' addresses and a quiet log,
// its options changed by set (when not nil).
func newEngineWith(db *store.DB, set func(o *forward.EngineOptions)) *forward.Engine {
	o := forward.EngineOptions{
		Timings:   forward.DefaultTimings,
		PublicURL: "https://chat.example.com", MailFrom: "chat@example.com", InboundDomain: "reply.example.com",
		Logger: quietLog,
	}
	if set != nil {
		set(&o)
	}
	return forward.NewEngine(db, token.NewSigner([]byte("bench-secret-0123456789")), nil, o)
}

// BenchmarkDueBurst1000 measures the time from 1,000 conversations falling
// due at once to the loopback relay having accepted all 1,000 emails.
func BenchmarkDueBurst1000(b *testing.B) { dueBurst(b, 1000) }

// BenchmarkDueBurstGrowth is BenchmarkDueBurst1000 at the sizes listed in
// PARLEY_BENCH_BURST, for the burst's growth (opt-in: seeding 50,000
// conversations takes a while):
//
//	PARLEY_BENCH_BURST=1000,10000,50000 go test ./internal/forward -run '^$' -bench DueBurstGrowth -benchtime 1x
func BenchmarkDueBurstGrowth(b *testing.B) {
	sizes := os.Getenv("PARLEY_BENCH_BURST")
	if sizes == "" {
		b.Skip("PARLEY_BENCH_BURST is not set (e.g. 1000,10000,50000)")
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("PARLEY_BENCH_BURST: %q is not a number of conversations", f)
		}
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) { dueBurst(b, n) })
	}
}

// dueBurst times n conversations falling due at once until the loopback
// relay accepted all n emails, with the database's statements and commits
// per email.
func dueBurst(b *testing.B, n int) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := forward.MigratedDB(b)
		seed(b, db, n, true)
		srv := apptest.StartRelay(b)
		r, err := relay.New(relay.Config{URL: srv.URL, Connections: relayConns})
		if err != nil {
			b.Fatal(err)
		}
		w := outbox.New(db, r, reporter(db), outbox.Options{IsPermanent: relay.IsPermanent, Parallel: relayConns, Logger: quietLog})
		var lastQueued atomic.Int64
		e := newEngine(db, func() { lastQueued.Store(time.Now().UnixNano()); w.Kick() })
		ctx, cancel := context.WithCancel(context.Background())
		stmts, commits := db.Counts()
		b.StartTimer()
		start := time.Now()
		go e.Run(ctx)
		go w.Run(ctx)
		mails := srv.Wait(b, n, 10*time.Minute)
		b.ReportMetric(time.Since(start).Seconds(), "s-to-all-accepted")
		b.ReportMetric(time.Duration(lastQueued.Load()-start.UnixNano()).Seconds(), "s-to-all-queued")
		b.StopTimer()
		s1, c1 := db.Counts()
		b.ReportMetric(float64(s1-stmts)/float64(n), "statements/email")
		b.ReportMetric(float64(c1-commits)/float64(n), "commits/email")
		seen := map[string]bool{}
		for _, m := range mails {
			id := m.Msg.Header.Get("X-Parley-Conversation")
			if seen[id] {
				b.Fatalf("conversation %s emailed twice", id)
			}
			seen[id] = true
		}
		cancel()
		r.Close()
	}
}

// BenchmarkEngineIdle stores 100,000 conversations, none due, runs the
// engine for ten seconds and reports the CPU it used, per minute.
func BenchmarkEngineIdle(b *testing.B) {
	const n = 100000
	db := forward.MigratedDB(b)
	seed(b, db, n, false)
	for i := 0; i < b.N; i++ {
		e := newEngine(db, nil)
		ctx, cancel := context.WithCancel(context.Background())
		before := cpuTime()
		go e.Run(ctx)
		time.Sleep(10 * time.Second)
		cancel()
		used := cpuTime() - before
		b.ReportMetric(float64(used.Milliseconds())*6, "cpu-ms/min")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The engine's and the outbox's parallelism, as the application sets them
// (PARLEY_BENCH_WORKERS and PARLEY_BENCH_RELAY_CONNECTIONS change them).
var engineWorkers, relayConns = envInt("PARLEY_BENCH_WORKERS", 4), envInt("PARLEY_BENCH_RELAY_CONNECTIONS", 4)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
