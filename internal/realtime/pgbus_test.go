package realtime_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// frames records what a dashboard socket is sent.
type frames struct {
	mu  sync.Mutex
	got []string
}

func (f *frames) write(b []byte) error {
	f.mu.Lock()
	f.got = append(f.got, string(b))
	f.mu.Unlock()
	return nil
}

func (f *frames) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// TestPGBusCarriesABurstInOrder publishes a burst such as ten thousand
// visitors leaving at once makes, with a few events too large for one
// notification among them: a dashboard on the other node gets every one,
// in order.
func TestPGBusCarriesABurstInOrder(t *testing.T) {
	url := apptest.Postgres(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hubA, hubB := realtime.NewHub(), realtime.NewHub()
	busA := realtime.NewPGBus(hubA, db, url, "node-a", quiet)
	busB := realtime.NewPGBus(hubB, db, url, "node-b", quiet)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { busA.Run(ctx) })
	wg.Go(func() { busB.Run(ctx) })

	// One dashboard per workspace on node B, each sent fewer events than
	// a dashboard may have queued (AgentSendBuffer): a dashboard starved
	// of CPU by other tests is not dropped, only a lost event fails.
	const spaces, n = 6, 20000
	recs := make([]*frames, spaces)
	for k := range recs {
		recs[k] = &frames{}
		dash := realtime.NewConn(fmt.Sprint("ws", k), "", fmt.Sprint("agent", k))
		hubB.Register(dash)
		dash.Start(recs[k].write, func() {})
	}
	rec := recs[0]

	// Node B listens once a probe gets through.
	deadline := time.Now().Add(20 * time.Second)
	for len(rec.snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("node B never received node A's events")
		}
		busA.ToAgents("ws0", []byte(`{"type":"probe"}`))
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the last probes land
	probes := len(rec.snapshot())

	big := strings.Repeat("x", 9000)
	want := make([][]string, spaces)
	for i := range n {
		f := fmt.Sprintf(`{"type":"visitor.updated","data":{"i":%d,"visitor":{"id":"v%d","online":false}}}`, i, i)
		if i%2500 == 1 {
			f = fmt.Sprintf(`{"type":"big","data":{"i":%d,"pad":%q}}`, i, big)
		}
		want[i%spaces] = append(want[i%spaces], f)
		busA.ToAgents(fmt.Sprint("ws", i%spaces), []byte(f))
	}
	deadline = time.Now().Add(60 * time.Second)
	for k := range spaces {
		var got []string
		for {
			got = recs[k].snapshot()
			if k == 0 {
				got = got[probes:]
			}
			if len(got) >= len(want[k]) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(got) != len(want[k]) {
			t.Fatalf("workspace %d on node B got %d of %d events", k, len(got), len(want[k]))
		}
		for i := range want[k] {
			if got[i] != want[k][i] {
				t.Fatalf("workspace %d, event %d on node B: got %.80q, want %.80q", k, i, got[i], want[k][i])
			}
		}
	}

	// The publishing node's dashboards get its events once: not again
	// from PostgreSQL.
	local := realtime.NewConn("ws0", "", "agent-a")
	hubA.Register(local)
	recA := &frames{}
	local.Start(recA.write, func() {})
	before := len(rec.snapshot())
	for i := range 10 {
		busA.ToAgents("ws0", fmt.Appendf(nil, `{"type":"after","data":{"i":%d}}`, i))
	}
	for len(rec.snapshot()) < before+10 {
		if time.Now().After(deadline) {
			t.Fatal("node B did not get the last events")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if own := recA.snapshot(); len(own) != 10 {
		t.Errorf("node A's dashboard got %d events, want 10", len(own))
	}
}

// TestPGBusListening is what the readiness check reads: false until the
// bus listens, true while it does, false once it stopped.
func TestPGBusListening(t *testing.T) {
	url := apptest.Postgres(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := realtime.NewPGBus(realtime.NewHub(), db, url, "node-a", quiet)
	if bus.Listening() {
		t.Fatal("listening before Run")
	}
	done := make(chan struct{})
	go func() { bus.Run(ctx); close(done) }()
	apptest.Eventually(t, 10*time.Second, "bus listening", bus.Listening)
	cancel()
	<-done
	if bus.Listening() {
		t.Fatal("still listening after Run returned")
	}
}
