package realtime

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestHubRouting(t *testing.T) {
	h := NewHub()
	agent := NewConn("w1", "", "a1")
	v1a := NewConn("w1", "v1", "")
	v1b := NewConn("w1", "v1", "")
	v2 := NewConn("w1", "v2", "")
	other := NewConn("w2", "v3", "")
	for _, c := range []*Conn{agent, v1a, v1b, v2, other} {
		h.Register(c)
	}
	h.ToVisitor("v1", []byte("to-v1"))
	h.ToAgents("w1", []byte("to-agents"))
	h.ToWidgets("w1", []byte("to-widgets"))

	tests := []struct {
		name string
		c    *Conn
		want []string
	}{
		{"agent", agent, []string{"to-agents"}},
		{"visitor 1 first tab", v1a, []string{"to-v1", "to-widgets"}},
		{"visitor 1 second tab", v1b, []string{"to-v1", "to-widgets"}},
		{"visitor 2", v2, []string{"to-widgets"}},
		{"other workspace", other, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range tt.c.queue {
			got = append(got, string(f))
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		}
	}
	if n := h.Unregister(v1a); n != 1 {
		t.Errorf("after closing one of two tabs: %d left, want 1", n)
	}
	if n := h.Unregister(v1b); n != 0 {
		t.Errorf("after closing both tabs: %d left, want 0", n)
	}
}

func TestSlowConnectionIsDropped(t *testing.T) {
	h := NewHub()
	c := NewConn("w", "v", "")
	h.Register(c)
	for i := 0; i <= SendBuffer; i++ {
		h.ToVisitor("v", []byte("x"))
	}
	select {
	case <-c.Closed():
	default:
		t.Fatal("a connection that does not drain its queue must be dropped")
	}
	stopped := make(chan struct{})
	c.Start(func([]byte) error { return nil }, func() { close(stopped) })
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("a dropped connection's socket was not closed")
	}
}

// recorder is a socket that records what is written to it.
type recorder struct {
	mu      sync.Mutex
	frames  []string
	fail    bool
	stopped chan struct{}
}

func newRecorder() *recorder { return &recorder{stopped: make(chan struct{})} }

func (r *recorder) write(f []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("broken pipe")
	}
	r.frames = append(r.frames, string(f))
	return nil
}

func (r *recorder) stop() { close(r.stopped) }

func (r *recorder) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := append([]string(nil), r.frames...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("only %d of %d frames written", len(r.frames), n)
	return nil
}

func TestConnWritesInOrderOnce(t *testing.T) {
	h := NewHub()
	c := NewConn("w", "", "a") // a dashboard: its queue holds every frame below
	h.Register(c)
	h.ToAgents("w", []byte("before start"))
	rec := newRecorder()
	c.Start(rec.write, rec.stop)
	const n = 1000
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 4 {
				// Each sender's frames must keep their order; a slow
				// sender lets the writer run dry and restart.
				h.ToAgents("w", fmt.Appendf(nil, "%d-%d", g, i))
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	got := rec.waitFor(t, n+1)
	if len(got) != n+1 || got[0] != "before start" {
		t.Fatalf("wrote %d frames starting %q, want %d starting with the one queued before Start", len(got), got[0], n+1)
	}
	next := map[string]int{}
	for _, f := range got[1:] {
		var g, i int
		if _, err := fmt.Sscanf(f, "%d-%d", &g, &i); err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
		key := fmt.Sprint(g)
		if i != next[key] {
			t.Fatalf("sender %d: frame %d written where %d was due", g, i, next[key])
		}
		next[key]++
	}
}

func TestConnFailedWriteClosesSocket(t *testing.T) {
	h := NewHub()
	c := NewConn("w", "v", "")
	h.Register(c)
	rec := newRecorder()
	rec.fail = true
	c.Start(rec.write, rec.stop)
	h.ToVisitor("v", []byte("x"))
	select {
	case <-rec.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("a failed write must close the socket")
	}
	h.ToVisitor("v", []byte("y")) // queued to a dead connection: dropped, no panic
	if n := h.Unregister(c); n != 0 {
		t.Errorf("%d connections left", n)
	}
}

// BenchmarkFanoutToWidgets sends one frame to every widget of a workspace
// (what an agent's status change does) and waits until each connection's
// writer has taken it: the hub's share of a fan-out, without sockets.
func BenchmarkFanoutToWidgets(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h := NewHub()
			var wg sync.WaitGroup
			for i := range n {
				c := NewConn("w", fmt.Sprint("v", i), "")
				h.Register(c)
				c.Start(func([]byte) error { wg.Done(); return nil }, func() {})
			}
			frame := []byte(`{"type":"agents","online":true}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				wg.Add(n)
				h.ToWidgets("w", frame)
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/conn")
		})
	}
}

// Frames being written count against the bound: a client that takes
// nothing holds at most SendBuffer frames of the server's memory.
func TestQueueBoundCountsFramesInFlight(t *testing.T) {
	h := NewHub()
	c := NewConn("w", "v", "")
	h.Register(c)
	started, release := make(chan struct{}, 1), make(chan struct{})
	c.Start(func([]byte) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return nil
	}, func() {})
	defer close(release)
	h.ToVisitor("v", []byte("first"))
	<-started // in the writer's hands, stuck
	for range SendBuffer - 1 {
		h.ToVisitor("v", []byte("x"))
	}
	select {
	case <-c.Closed():
		t.Fatalf("dropped with %d frames held, the bound is %d", SendBuffer, SendBuffer)
	default:
	}
	h.ToVisitor("v", []byte("one too many"))
	select {
	case <-c.Closed():
	default:
		t.Fatalf("not dropped with %d frames held", SendBuffer+1)
	}
}

// TestRegisterAfterReset: a widget whose token was checked before its
// visitor's links were reset, but that registers after, is closed as it
// registers; one of the new generation is not, nor one of another visitor.
func TestRegisterAfterReset(t *testing.T) {
	h := NewHub()
	h.Revoke(Revocation{VisitorID: "v1", Except: "g2"})
	tests := []struct {
		name    string
		visitor string
		tag     string
		revoked bool
	}{
		{"older generation", "v1", "g1", true},
		{"new generation", "v1", "g2", false},
		{"another visitor", "v2", "g1", false},
	}
	for _, tt := range tests {
		c := NewConn("w1", tt.visitor, "")
		c.TokenHash = tt.tag
		h.Register(c)
		if c.Revoked() != tt.revoked {
			t.Errorf("%s: revoked %v, want %v", tt.name, c.Revoked(), tt.revoked)
		}
	}
	// A second reset supersedes the first: its generation's tokens were
	// issued after it.
	h.Revoke(Revocation{VisitorID: "v1", Except: "g3"})
	for tag, revoked := range map[string]bool{"g2": true, "g3": false} {
		c := NewConn("w1", "v1", "")
		c.TokenHash = tag
		h.Register(c)
		if c.Revoked() != revoked {
			t.Errorf("after the second reset, %s: revoked %v, want %v", tag, c.Revoked(), revoked)
		}
	}
}

// TestOnAgentRevoked: the hook hears every revocation of an agent's
// tokens (the caller's, or another node's through the bus), and none of a
// visitor's.
func TestOnAgentRevoked(t *testing.T) {
	h := NewHub()
	heard := 0
	h.OnAgentRevoked(func() { heard++ })
	for _, tt := range []struct {
		r    Revocation
		want int
	}{
		{Revocation{AgentID: "a1", Only: "t1"}, 1},     // logout
		{Revocation{AgentID: "a1", Except: "t2"}, 2},   // password change
		{Revocation{AgentID: "a1"}, 3},                 // removal
		{Revocation{VisitorID: "v1", Except: "g2"}, 3}, // a visitor's links reset
		{Revocation{}, 3},                              // names nobody
	} {
		h.Revoke(tt.r)
		if heard != tt.want {
			t.Errorf("after %+v: heard %d, want %d", tt.r, heard, tt.want)
		}
	}
}

// TestOnWidgetsFrame: the hook hears every frame for all the widgets of a
// workspace (an availability change), whether or not this node holds one
// of them, and no frame for dashboards or for one visitor.
func TestOnWidgetsFrame(t *testing.T) {
	h := NewHub()
	widget := NewConn("w1", "v9", "")
	h.Register(widget)
	heard := 0
	var queued []int // the frames the widget of w1 held at each call
	h.OnWidgetsFrame(func() {
		heard++
		widget.mu.Lock()
		defer widget.mu.Unlock()
		queued = append(queued, len(widget.queue))
	})
	for _, tt := range []struct {
		name string
		send func()
		want int
	}{
		{"widgets", func() { h.ToWidgets("w1", []byte(`{"type":"agents"}`)) }, 1},
		{"dashboards", func() { h.ToAgents("w1", []byte(`{}`)) }, 1},
		{"one visitor", func() { h.ToVisitor("v1", []byte(`{}`)) }, 1},
		{"widgets of another workspace", func() { h.ToWidgets("w2", []byte(`{"type":"agents"}`)) }, 2},
	} {
		tt.send()
		if heard != tt.want {
			t.Errorf("after %s: heard %d, want %d", tt.name, heard, tt.want)
		}
	}
	// Called before the widgets are sent the frame: a session answered
	// after a widget saw it reads again.
	if want := []int{0, 1}; !slices.Equal(queued, want) {
		t.Errorf("frames queued for the widget at each call: %v, want %v", queued, want)
	}
}
