package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// Channel is the PostgreSQL notification channel events cross nodes on.
const Channel = "parley_events"

// maxNotify keeps payloads under PostgreSQL's 8000-byte NOTIFY limit;
// larger events travel through the bus_events table.
const maxNotify = 7000

// Events cross nodes in bundles: the sender takes up to maxBatch queued
// events at a time and packs them, in order, into as few notifications
// of at most maxNotify bytes as they fit. Each NOTIFY costs PostgreSQL a
// lock and a queue entry; ten thousand visitors leaving at once make tens
// of thousands of events in a second or two, which one notification each
// could not carry (queueLen of them waited, the rest were dropped).
//
// An event that comes within lingerAfter of the last batch waits up to
// lingerFor for others: a steady 200 replies a second (5 ms apart) go one
// by one, at once; a burst goes in full bundles.
const (
	maxBatch    = 512
	queueLen    = 65536
	lingerAfter = time.Millisecond
	lingerFor   = time.Millisecond
)

// PGBus delivers events to this node's hub and, through PostgreSQL
// LISTEN/NOTIFY, to every other node's. No extra component is needed: the
// nodes already share the database.
type PGBus struct {
	hub  *Hub
	db   *store.DB
	url  string
	node string
	log  *slog.Logger
	// out queues payloads for the sender, which batches them: a request
	// does not wait for NOTIFY's commit, and events keep their order.
	out     chan string
	dropped atomic.Int64 // events the full queue refused since last told
	own     string       // how this node's payloads begin

	// listening is true while a connection LISTENs for other nodes'
	// events (for the readiness check).
	listening atomic.Bool
}

// NewPGBus returns a bus for the nodes sharing the database at url.
func NewPGBus(hub *Hub, db *store.DB, url, nodeID string, log *slog.Logger) *PGBus {
	quoted, _ := json.Marshal(nodeID)
	return &PGBus{hub: hub, db: db, url: url, node: nodeID, log: log, out: make(chan string, queueLen),
		own: `{"n":` + string(quoted) + `,`}
}

// A notification holds one envelope or a bundle of them; both begin with
// the sending node, so that a node skips its own without decoding them.
type envelope struct {
	Node   string          `json:"n"`
	Kind   string          `json:"k,omitempty"` // a: agents of a workspace, v: a visitor, w: widgets of a workspace, r: a revocation
	Target string          `json:"t,omitempty"`
	Frame  json.RawMessage `json:"f,omitempty"`
	Ref    string          `json:"r,omitempty"` // id in bus_events, for large events
}

// notification is what one NOTIFY carries: an envelope, or a bundle of
// them (Events) under the sending node.
type notification struct {
	envelope
	Events []json.RawMessage `json:"b,omitempty"`
}

// ToAgents implements realtime.Publisher.
func (b *PGBus) ToAgents(workspaceID string, frame []byte) {
	b.hub.ToAgents(workspaceID, frame)
	b.publish("a", workspaceID, frame)
}

// ToVisitor implements realtime.Publisher.
func (b *PGBus) ToVisitor(visitorID string, frame []byte) {
	b.hub.ToVisitor(visitorID, frame)
	b.publish("v", visitorID, frame)
}

// ToWidgets implements realtime.Publisher.
func (b *PGBus) ToWidgets(workspaceID string, frame []byte) {
	b.hub.ToWidgets(workspaceID, frame)
	b.publish("w", workspaceID, frame)
}

// Revoke implements chat.Revoker: this node's connections close at once,
// other nodes' when the notification reaches them.
func (b *PGBus) Revoke(r Revocation) int {
	frame, _ := json.Marshal(r)
	b.publish("r", r.target(), frame)
	return b.hub.Revoke(r)
}

func (b *PGBus) publish(kind, target string, frame []byte) {
	payload, _ := json.Marshal(envelope{Node: b.node, Kind: kind, Target: target, Frame: frame})
	select {
	case b.out <- string(payload):
	default:
		// Never block a request (or shutdown) on the bus: other nodes'
		// clients refetch what they miss when they reconnect. The sender
		// reports how many were dropped.
		if b.dropped.Add(1) == 1 {
			b.log.Error("event queue to other nodes full: dropping events", "kind", kind)
		}
	}
}

// send delivers queued payloads to the other nodes until ctx ends, up to
// maxBatch in one statement.
func (b *PGBus) send(ctx context.Context) {
	batch := make([]string, 0, maxBatch)
	linger := time.NewTimer(0)
	var last time.Time // when the last batch went out
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case p := <-b.out:
			batch = append(batch, p)
		}
		// An event after a quiet moment goes at once. One that follows
		// the last batch closely is part of a stream: waiting a moment
		// for the next ones lets one notification carry many.
		wait := time.Since(last) < lingerAfter
		if wait {
			linger.Reset(lingerFor)
		}
	more:
		for len(batch) < cap(batch) {
			if wait {
				select {
				case p := <-b.out:
					batch = append(batch, p)
				case <-linger.C:
					break more
				}
				continue
			}
			select {
			case p := <-b.out:
				batch = append(batch, p)
			default:
				break more
			}
		}
		linger.Stop()
		if err := b.notify(ctx, batch); err != nil && ctx.Err() == nil {
			b.log.Error("publish events to other nodes", "events", len(batch), "err", err)
		}
		last = time.Now()
		if n := b.dropped.Swap(0); n > 0 {
			b.log.Error("event queue to other nodes was full: events dropped", "events", n)
		}
	}
}

// Flush sends what is still queued for other nodes, for a process that
// publishes without running the bus (a command-line removal of an agent
// must still close that agent's dashboards on the running nodes).
func (b *PGBus) Flush(ctx context.Context) error {
	var batch []string
	for {
		select {
		case p := <-b.out:
			batch = append(batch, p)
			continue
		default:
		}
		break
	}
	if len(batch) == 0 {
		return nil
	}
	return b.notify(ctx, batch)
}

func (b *PGBus) notify(ctx context.Context, batch []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for i, p := range batch {
		if len(p) > maxNotify {
			id := model.NewID()
			if err := b.db.PutBusEvent(ctx, id, p, time.Now()); err != nil {
				return err
			}
			ref, _ := json.Marshal(envelope{Node: b.node, Ref: id})
			batch[i] = string(ref)
		}
	}
	return b.db.NotifyAll(ctx, Channel, b.bundle(batch))
}

// bundle packs encoded envelopes, in order, into notifications of at most
// maxNotify bytes (plus the bundle's own few); an envelope that fills one
// alone goes as it is.
func (b *PGBus) bundle(payloads []string) []string {
	head := b.own + `"b":[`
	var (
		out   []string
		cur   strings.Builder
		n     int    // envelopes in cur
		first string // the first of them
	)
	flush := func() {
		switch n {
		case 0:
		case 1:
			out = append(out, first)
		default:
			cur.WriteString("]}")
			out = append(out, cur.String())
		}
		cur.Reset()
		n = 0
	}
	for _, p := range payloads {
		if n > 0 && cur.Len()+1+len(p)+2 > maxNotify {
			flush()
		}
		if n == 0 {
			cur.WriteString(head)
			first = p
		} else {
			cur.WriteByte(',')
		}
		cur.WriteString(p)
		n++
	}
	flush()
	return out
}

// Listening reports whether the bus holds a connection that listens for
// other nodes' events.
func (b *PGBus) Listening() bool { return b.listening.Load() }

// Run listens for other nodes' events until ctx ends, reconnecting with
// backoff when the connection drops.
func (b *PGBus) Run(ctx context.Context) {
	go b.send(ctx)
	backoff := 100 * time.Millisecond
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for ctx.Err() == nil {
		err := b.listen(ctx, prune.C)
		if ctx.Err() != nil {
			return
		}
		b.log.Error("event bus connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (b *PGBus) listen(ctx context.Context, prune <-chan time.Time) error {
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	b.listening.Store(true)
	defer b.listening.Store(false)
	b.log.Info("event bus listening", "channel", Channel)
	for {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		select {
		case <-prune:
			if perr := b.db.PruneBusEvents(ctx, time.Now().Add(-5*time.Minute)); perr != nil && ctx.Err() == nil {
				b.log.Warn("prune bus events", "err", perr)
			}
		default:
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if wctx.Err() != nil {
				// Quiet for 30 s: check the connection is alive.
				if err := conn.Ping(ctx); err != nil {
					return err
				}
				continue
			}
			return err
		}
		b.deliver(ctx, n.Payload)
	}
}

func (b *PGBus) deliver(ctx context.Context, payload string) {
	if strings.HasPrefix(payload, b.own) {
		return // sent by this node, whose hub already has it
	}
	var n notification
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		b.log.Warn("undecodable event from another node", "err", err)
		return
	}
	if n.Events == nil {
		b.deliverOne(ctx, n.envelope)
		return
	}
	for _, raw := range n.Events {
		var e envelope
		if err := json.Unmarshal(raw, &e); err != nil {
			b.log.Warn("undecodable event from another node", "err", err)
			continue
		}
		b.deliverOne(ctx, e)
	}
}

func (b *PGBus) deliverOne(ctx context.Context, e envelope) {
	if e.Ref != "" {
		raw, err := b.db.BusEvent(ctx, e.Ref)
		if err != nil {
			b.log.Error("read large event", "err", err)
			return
		}
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			b.log.Warn("undecodable event from another node", "err", err)
			return
		}
	}
	switch e.Kind {
	case "a":
		b.hub.ToAgents(e.Target, e.Frame)
	case "v":
		b.hub.ToVisitor(e.Target, e.Frame)
	case "w":
		b.hub.ToWidgets(e.Target, e.Frame)
	case "r":
		var r Revocation
		if err := json.Unmarshal(e.Frame, &r); err != nil {
			b.log.Warn("undecodable revocation from another node", "err", err)
			return
		}
		b.hub.Revoke(r)
	}
}
