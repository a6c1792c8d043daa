package web

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/chat"
)

// The gate admits two uploads a sender at once, four an address, and no
// more bytes than its budget; what it refuses, and what leaves it, gives
// its room back.
func TestUploadGate(t *testing.T) {
	g := newUploadGate(100)
	ctx := t.Context()
	quick := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	refused := func(what string, err error) {
		t.Helper()
		if chat.ErrorCode(err) != chat.CodeRateLimited {
			t.Fatalf("%s: %v, want rate_limited", what, err)
		}
	}
	admitted := func(what string) func(r func(), err error) func() {
		return func(r func(), err error) func() {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return r
		}
	}
	here := addressKey("192.0.2.1")
	r1 := admitted("a first upload")(g.enter(ctx, 10, senderKey("v1"), here))
	r2 := admitted("a second upload of the visitor")(g.enter(ctx, 10, senderKey("v1"), here))
	_, err := g.enter(ctx, 1, senderKey("v1"), here)
	refused("a third upload of the visitor", err)
	r3 := admitted("another visitor at the address")(g.enter(ctx, 10, senderKey("v2"), here))
	r4 := admitted("a fourth at the address")(g.enter(ctx, 10, senderKey("v3"), here))
	_, err = g.enter(ctx, 1, senderKey("v4"), here)
	refused("a fifth at the address", err)
	_, err = g.enter(quick(), 70, senderKey("v5"), addressKey("192.0.2.2"))
	refused("past the budget", err)
	done := make(chan error, 1)
	go func() {
		r, err := g.enter(ctx, 60, senderKey("v6"), addressKey("192.0.2.3")) // waits for room
		if err == nil {
			r()
		}
		done <- err
	}()
	r1()
	r3()
	if err := <-done; err != nil {
		t.Fatalf("an upload waiting for room: %v", err)
	}
	r2()
	r4()
	if len(g.inUse) != 0 {
		t.Errorf("keys left in the gate: %v", g.inUse)
	}
	if !g.budget.TryAcquire(100) {
		t.Error("the budget was not given back whole")
	}
}
