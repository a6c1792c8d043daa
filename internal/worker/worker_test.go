package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// start runs w until the test ends and returns a channel closed when Run
// has returned.
func start(t *testing.T, w *Worker) (cancel func(), done <-chan struct{}) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	d := make(chan struct{})
	go func() { w.Run(ctx); close(d) }()
	t.Cleanup(func() { stop(); <-d })
	return stop, d
}

// rounds returns a Work func that reports each round on the channel.
func rounds() (chan int, func(context.Context) error) {
	c := make(chan int, 100)
	n := 0
	return c, func(context.Context) error {
		n++
		c <- n
		return nil
	}
}

// next waits for the next round; the test fails when none comes within a
// minute (a deadline against a hang, not a measured duration).
func next(t *testing.T, c <-chan int) int {
	t.Helper()
	select {
	case n := <-c:
		return n
	case <-time.After(time.Minute):
		t.Fatal("no round")
		return 0
	}
}

var quiet = slog.New(slog.DiscardHandler)

func TestFirstRoundAtOnceThenKicks(t *testing.T) {
	c, work := rounds()
	w := New(Config{Name: "t", Work: work, MaxIdle: time.Hour, Logger: quiet})
	start(t, w)
	if n := next(t, c); n != 1 {
		t.Fatalf("round %d first", n)
	}
	for want := 2; want <= 4; want++ {
		w.Kick()
		if n := next(t, c); n != want {
			t.Fatalf("round %d after kick %d", n, want-1)
		}
	}
}

func TestKicksCoalesce(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var (
		mu sync.Mutex
		n  int
	)
	w := New(Config{Name: "t", MaxIdle: time.Hour, Logger: quiet, Work: func(context.Context) error {
		mu.Lock()
		n++
		mu.Unlock()
		entered <- struct{}{}
		<-release
		return nil
	}})
	start(t, w)
	<-entered // round 1 is under way
	for range 100 {
		w.Kick()
	}
	if got := len(w.kick); got != 1 {
		t.Fatalf("%d wakes pending after 100 kicks during a round, want 1", got)
	}
	release <- struct{}{}
	<-entered // round 2: the hundred kicks
	if got := len(w.kick); got != 0 {
		t.Fatalf("%d wakes still pending in the round they caused", got)
	}
	mu.Lock()
	got := n
	mu.Unlock()
	if got != 2 {
		t.Fatalf("%d rounds, want 2", got)
	}
	w.Kick()
	release <- struct{}{}
	<-entered // round 3: the one later kick
	close(release)
}

func TestWakesAtNextDue(t *testing.T) {
	c, work := rounds()
	var mu sync.Mutex
	due := time.Now().Add(20 * time.Millisecond)
	w := New(Config{Name: "t", Work: work, MaxIdle: time.Hour, Logger: quiet,
		NextDue: func(context.Context) (*time.Time, error) {
			mu.Lock()
			defer mu.Unlock()
			d := due
			due = time.Now().Add(time.Hour) // only one wake is scheduled
			return &d, nil
		}})
	start(t, w)
	next(t, c)
	// No kick: only the due time can start round 2 (MaxIdle is an hour).
	if n := next(t, c); n != 2 {
		t.Fatalf("round %d", n)
	}
}

func TestPastDueRunsAtOnce(t *testing.T) {
	c, work := rounds()
	calls := 0
	w := New(Config{Name: "t", Work: work, MaxIdle: time.Hour, Logger: quiet,
		NextDue: func(context.Context) (*time.Time, error) {
			calls++
			if calls > 3 {
				return nil, nil
			}
			past := time.Now().Add(-time.Minute)
			return &past, nil
		}})
	start(t, w)
	for want := 1; want <= 4; want++ {
		if n := next(t, c); n != want {
			t.Fatalf("round %d, want %d", n, want)
		}
	}
}

func TestUpperBound(t *testing.T) {
	c, work := rounds()
	w := New(Config{Name: "t", Work: work, MaxIdle: 5 * time.Millisecond, Logger: quiet,
		NextDue: func(context.Context) (*time.Time, error) { return nil, nil }})
	start(t, w)
	// Nothing is due and nobody kicks: MaxIdle alone brings rounds.
	for want := 1; want <= 3; want++ {
		if n := next(t, c); n != want {
			t.Fatalf("round %d, want %d", n, want)
		}
	}
}

func TestStopsOnCancel(t *testing.T) {
	tests := []struct {
		name string
		work func(context.Context) error
	}{
		{"sleeping", func(context.Context) error { return nil }},
		{"waiting after an error", func(context.Context) error { return errors.New("down") }},
		{"in a round", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entered := make(chan struct{}, 1)
			w := New(Config{Name: "t", MaxIdle: time.Hour, ErrorBackoff: Backoff{Base: time.Hour, Max: time.Hour}, Logger: quiet,
				Work: func(ctx context.Context) error {
					select {
					case entered <- struct{}{}:
					default:
					}
					return tt.work(ctx)
				}})
			cancel, done := start(t, w)
			<-entered
			cancel()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
}

// recorder keeps the retry_in of each failed-round log record.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			r.mu.Lock()
			r.waits = append(r.waits, a.Value.Duration())
			r.mu.Unlock()
		}
		return true
	})
	return nil
}

func TestErrorBackoffGrowsAndResets(t *testing.T) {
	// Rounds 1-5 fail, 6 works, 7-8 fail again.
	fail := map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 7: true, 8: true}
	c := make(chan int, 100)
	n := 0
	rec := &recorder{}
	base := time.Millisecond
	w := New(Config{Name: "t", MaxIdle: time.Millisecond, ErrorBackoff: Backoff{Base: base, Max: 4 * base}, Logger: slog.New(rec),
		Work: func(context.Context) error {
			n++
			c <- n
			if fail[n] {
				return fmt.Errorf("round %d failed", n)
			}
			return nil
		}})
	start(t, w)
	for r := 0; r < 9; r = next(t, c) {
	}
	rec.mu.Lock()
	waits := append([]time.Duration(nil), rec.waits...)
	rec.mu.Unlock()
	want := []time.Duration{base, 2 * base, 4 * base, 4 * base, 4 * base, base, 2 * base}
	if len(waits) != len(want) {
		t.Fatalf("%d failed rounds logged (%v), want %d", len(waits), waits, len(want))
	}
	for i, d := range want {
		if waits[i] < d || waits[i] > d+d/10 {
			t.Errorf("wait after failure %d is %v, want %v plus at most a tenth", i+1, waits[i], d)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 10 * time.Second, Max: 30 * time.Minute}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 10 * time.Second},
		{1, 10 * time.Second},
		{2, 20 * time.Second},
		{3, 40 * time.Second},
		{8, 1280 * time.Second},
		{9, 30 * time.Minute},
		{100, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 50 {
				d := b.Delay(tt.n)
				if d < tt.want || d > tt.want+tt.want/10 {
					t.Fatalf("Delay(%d) = %v, want %v plus at most a tenth", tt.n, d, tt.want)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Errorf("Delay(%d) has no jitter: always %v", tt.n, tt.want)
			}
		})
	}
	if d := (Backoff{}).Delay(3); d != 0 {
		t.Errorf("zero Backoff waits %v", d)
	}
}

func TestBatches(t *testing.T) {
	tests := []struct {
		name       string
		due        int
		progress   bool
		claimErr   error
		wantClaims int
		wantItems  int
		wantErr    bool
	}{
		{"nothing due", 0, true, nil, 1, 0, false},
		{"short batch", 3, true, nil, 1, 3, false},
		{"exactly full", 10, true, nil, 3, 10, false},
		{"several batches", 12, true, nil, 3, 12, false},
		{"full batch without progress", 12, false, nil, 1, 5, false},
		{"claim fails", 12, true, errors.New("db down"), 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			left, claims, items := tt.due, 0, 0
			claim := func(_ context.Context, limit int) ([]int, error) {
				claims++
				if tt.claimErr != nil {
					return nil, tt.claimErr
				}
				k := min(limit, left)
				if tt.progress {
					left -= k
				}
				return make([]int, k), nil
			}
			err := Batches(context.Background(), 5, claim, func(_ context.Context, b []int) bool {
				items += len(b)
				return tt.progress
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if claims != tt.wantClaims || items != tt.wantItems {
				t.Errorf("%d claims, %d items; want %d, %d", claims, items, tt.wantClaims, tt.wantItems)
			}
		})
	}
}

func TestEachStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var got []int
	h := Each(func(_ context.Context, i int) {
		got = append(got, i)
		if i == 2 {
			cancel()
		}
	})
	if h(ctx, []int{1, 2, 3, 4}) {
		t.Error("a cancelled batch reports progress")
	}
	if len(got) != 2 {
		t.Errorf("handled %v after cancel at 2", got)
	}
}
