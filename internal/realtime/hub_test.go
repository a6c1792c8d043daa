package realtime

import "testing"

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
		for len(tt.c.send) > 0 {
			got = append(got, string(<-tt.c.send))
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
}
