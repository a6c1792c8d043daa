package web

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/chat"
)

// The gate admits two uploads a key at once and no more bytes than its
// budget; what it refuses, and what leaves it, gives its room back.
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
	r1, err := g.enter(ctx, "a", 30)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.enter(ctx, "a", 30)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.enter(ctx, "a", 1)
	refused("a third upload from one key", err)
	_, err = g.enter(quick(), "b", 50)
	refused("past the budget", err)
	r3, err := g.enter(ctx, "b", 40)
	if err != nil {
		t.Fatalf("within the budget: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		r, err := g.enter(ctx, "c", 60) // waits for room
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
	if len(g.inUse) != 0 {
		t.Errorf("keys left in the gate: %v", g.inUse)
	}
	if !g.budget.TryAcquire(100) {
		t.Error("the budget was not given back whole")
	}
}
