package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/chat"
)

// Caps on open widget connections on this node. A visitor's tabs share its
// token, so a handful is plenty; an address may hold a whole office behind
// NAT. The per-address cap is off with PARLEY_RATE_LIMITS=off, the
// per-visitor one never.
const (
	maxConnsPerVisitor = 16
	maxConnsPerAddr    = 256
	// connRetryAfter is the hint sent with a refused connection.
	connRetryAfter = 30 * time.Second
)

// connCounts counts the open widget connections per visitor and per client
// address.
type connCounts struct {
	mu        sync.Mutex
	byVisitor map[string]int
	byAddr    map[string]int
	noAddr    bool
}

func newConnCounts(noAddrLimit bool) *connCounts {
	return &connCounts{byVisitor: map[string]int{}, byAddr: map[string]int{}, noAddr: noAddrLimit}
}

// acquire counts one more connection of visitor from addr, or refuses it
// with rate_limited when a cap is reached; release undoes a successful
// acquire.
func (cc *connCounts) acquire(visitor, addr string) (release func(), err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.byVisitor[visitor] >= maxConnsPerVisitor {
		return nil, &chat.Error{Code: chat.CodeRateLimited, RetryAfter: connRetryAfter,
			Message: "too many open connections for this visitor; close a tab or try again later"}
	}
	if !cc.noAddr && cc.byAddr[addr] >= maxConnsPerAddr {
		return nil, &chat.Error{Code: chat.CodeRateLimited, RetryAfter: connRetryAfter,
			Message: "too many open connections from your address; try again later"}
	}
	cc.byVisitor[visitor]++
	cc.byAddr[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			cc.mu.Lock()
			defer cc.mu.Unlock()
			dec(cc.byVisitor, visitor)
			dec(cc.byAddr, addr)
		})
	}, nil
}

func dec(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// refuseWS completes the handshake only to say why the connection is
// refused (a browser cannot read the status of a failed handshake): one
// error frame with the code and retry_after, then close 1013 (try again
// later).
func (s *Server) refuseWS(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions, err error) {
	a := answerOf(err)
	if a.Internal {
		s.fail(w, r, err)
		return
	}
	// The guard's handshake deadline stays: it bounds the whole exchange.
	c, aerr := websocket.Accept(&hijackGuard{ResponseWriter: w, small: true}, r, opts)
	if aerr != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), handshakeTimeout)
	defer cancel()
	if c.Write(ctx, websocket.MessageText, encodeFrame(errorFrameOf(a, ""))) != nil {
		return
	}
	// Close waits for the client's close frame: a second is enough for a
	// browser, and all a client that never answers gets.
	t := time.AfterFunc(time.Second, func() { _ = c.CloseNow() })
	defer t.Stop()
	_ = c.Close(websocket.StatusTryAgainLater, "refused: "+a.Code)
}
