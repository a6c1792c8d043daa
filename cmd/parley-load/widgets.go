package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// maxInFlight bounds the setup calls waiting on the server at once, so a
// slow server slows the tool down instead of piling up goroutines.
const maxInFlight = 512

// widgetReadLimit bounds one incoming frame (a 10,000-character message
// with its JSON); frames are read whole, one at a time.
const widgetReadLimit = 128 << 10

// opener opens widgets the way the embedded widget does: a session call,
// then the live connection.
type opener struct {
	api     *apiClient
	ws      *http.Client
	wsBase  string // ws://host:port
	siteKey string
	readCtx context.Context // ends the readers
	onReply func(body string, at time.Time)
}

// widget is one visitor's open widget. Its only goroutine is the reader.
type widget struct {
	n         int
	token     string
	visitorID string
	convID    string // set once the visitor's first message was echoed
	conn      *websocket.Conn
	fleet     *fleet

	setup chan serverFrame // frames other than agent replies, while someone waits for them
	done  chan struct{}    // closed when the reader ended
}

// serverFrame is the part of a widget frame the tool looks at.
type serverFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	ClientID string `json:"client_id"`
	Msg      *struct {
		ConversationID string  `json:"conversation_id"`
		Body           string  `json:"body"`
		ClientID       *string `json:"client_id"`
		Author         struct {
			Kind string `json:"kind"`
		} `json:"author"`
	} `json:"-"`
}

// UnmarshalJSON reads "message" as an object in message frames and as text
// in error frames.
func (f *serverFrame) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type     string          `json:"type"`
		Code     string          `json:"code"`
		ClientID string          `json:"client_id"`
		Message  json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	f.Type, f.Code, f.ClientID = raw.Type, raw.Code, raw.ClientID
	if len(raw.Message) == 0 {
		return nil
	}
	if raw.Type == "message" {
		return json.Unmarshal(raw.Message, &f.Msg)
	}
	_ = json.Unmarshal(raw.Message, &f.Message)
	return nil
}

// frameError is an error frame the server answered a client frame with.
type frameError struct{ code, msg string }

func (e *frameError) Error() string { return "error frame " + e.code + ": " + e.msg }

var errWidgetClosed = errors.New("widget connection closed")

// fleet is a set of open widgets.
type fleet struct {
	widgets []*widget
	closing atomic.Bool  // set once the tool closes them: later closes are no drops
	dropped atomic.Int64 // connections that ended while the tool kept them
}

// open makes a visitor and opens its widget connection.
func (o *opener) open(ctx context.Context, n int, fl *fleet) (*widget, error) {
	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	if err := o.api.do(ctx, http.MethodPost, "/api/widget/v1/session", "", map[string]string{"site_key": o.siteKey}, &sess); err != nil {
		return nil, fmt.Errorf("widget session: %w", err)
	}
	c, resp, err := websocket.Dial(ctx, o.wsBase+"/api/widget/v1/ws?visitor_token="+url.QueryEscape(sess.VisitorToken),
		&websocket.DialOptions{HTTPClient: o.ws})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("widget connection: %w", &httpError{method: "GET", path: "/api/widget/v1/ws", status: resp.StatusCode})
		}
		return nil, fmt.Errorf("widget connection: %w", err)
	}
	c.SetReadLimit(widgetReadLimit)
	w := &widget{n: n, token: sess.VisitorToken, visitorID: sess.Visitor.ID, conn: c, fleet: fl,
		setup: make(chan serverFrame, 4), done: make(chan struct{})}
	go w.read(o.readCtx, o.onReply)
	return w, nil
}

// read receives frames until the connection ends: agent replies go to
// onReply with their arrival time, other frames to whoever waits on setup.
func (w *widget) read(ctx context.Context, onReply func(string, time.Time)) {
	defer close(w.done)
	for {
		_, raw, err := w.conn.Read(ctx)
		at := time.Now()
		if err != nil {
			if !w.fleet.closing.Load() && ctx.Err() == nil {
				w.fleet.dropped.Add(1)
			}
			return
		}
		var f serverFrame
		if json.Unmarshal(raw, &f) != nil {
			continue
		}
		if f.Type == "message" && f.Msg != nil && f.Msg.Author.Kind == "agent" {
			onReply(f.Msg.Body, at)
			continue
		}
		select {
		case w.setup <- f:
		default: // nobody waits for it (availability changes and the like)
		}
	}
}

func (w *widget) send(ctx context.Context, frame any) error {
	raw, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	if err := w.conn.Write(ctx, websocket.MessageText, raw); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// await waits for a setup frame that match accepts; an error frame for
// which refused is true fails the wait.
func (w *widget) await(ctx context.Context, match func(serverFrame) bool, refused func(serverFrame) bool) (serverFrame, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case f := <-w.setup:
			switch {
			case match(f):
				return f, nil
			case f.Type == "error" && refused(f):
				return f, &frameError{code: f.Code, msg: f.Message}
			}
		case <-w.done:
			return serverFrame{}, errWidgetClosed
		case <-ctx.Done():
			return serverFrame{}, fmt.Errorf("waiting for the server's answer: %w", ctx.Err())
		}
	}
}

// say writes a visitor message and waits for its echo, which names the
// conversation.
func (w *widget) say(ctx context.Context, body, clientID string) error {
	if err := w.send(ctx, map[string]string{"type": "message", "body": body, "client_id": clientID}); err != nil {
		return err
	}
	f, err := w.await(ctx, func(f serverFrame) bool {
		return f.Type == "message" && f.Msg != nil && f.Msg.ClientID != nil && *f.Msg.ClientID == clientID
	}, func(f serverFrame) bool { return f.ClientID == clientID || f.ClientID == "" })
	if err != nil {
		return fmt.Errorf("visitor message: %w", err)
	}
	w.convID = f.Msg.ConversationID
	return nil
}

// identify submits the contact form and waits until it is saved.
func (w *widget) identify(ctx context.Context, email, name string) error {
	if err := w.send(ctx, map[string]string{"type": "contact", "email": email, "name": name}); err != nil {
		return err
	}
	_, err := w.await(ctx, func(f serverFrame) bool { return f.Type == "contact" }, func(serverFrame) bool { return true })
	if err != nil {
		return fmt.Errorf("contact form: %w", err)
	}
	return nil
}

// closeAll closes every widget at once, as their pages closing would
// (graceful), or drops the connections (not graceful), and waits.
func (fl *fleet) closeAll(graceful bool) {
	fl.closing.Store(true)
	var wg sync.WaitGroup
	for _, w := range fl.widgets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if graceful {
				_ = w.conn.Close(websocket.StatusGoingAway, "page closed")
			} else {
				_ = w.conn.CloseNow()
			}
			<-w.done
		}()
	}
	wg.Wait()
}

// paced calls fn for i in [0, n) at most perSec times a second, with at most
// maxInFlight calls running, and counts the outcomes. It stops starting
// calls when ctx ends.
func paced(ctx context.Context, logf func(string, ...any), what string, n int, perSec float64, fn func(ctx context.Context, i int) error) stepStats {
	lim := rate.NewLimiter(rate.Limit(perSec), max(1, int(perSec/100))) // smooth to 10 ms
	sem := make(chan struct{}, maxInFlight)
	var (
		mu   sync.Mutex
		st   = stepStats{Errors: map[string]int{}}
		wg   sync.WaitGroup
		durs []time.Duration // how long each call took
	)
	start := time.Now()
	stop := progress(logf, what, func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf(": %d of %d done, %d failed", st.OK+st.Failed, n, st.Failed)
	})
	defer stop()
	for i := 0; i < n; i++ {
		if lim.Wait(ctx) != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		st.Attempted++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := fn(ctx, i)
			took := time.Since(t0)
			<-sem
			mu.Lock()
			defer mu.Unlock()
			durs = append(durs, took)
			if err != nil {
				st.Failed++
				st.Errors[errKind(err)]++
				return
			}
			st.OK++
		}()
	}
	wg.Wait()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	st.P50ms, st.P99ms = percentile(durs, 0.5), percentile(durs, 0.99)
	st.Seconds = time.Since(start).Seconds()
	if st.Seconds > 0 {
		st.PerSecond = float64(st.Attempted) / st.Seconds
	}
	return st
}

// openFleet opens n widgets at the connection rate.
func openFleet(ctx context.Context, logf func(string, ...any), op *opener, n int, perSec float64) (*fleet, stepStats) {
	fl := &fleet{}
	opened := make([]*widget, n)
	st := paced(ctx, logf, "opening widgets", n, perSec, func(ctx context.Context, i int) error {
		w, err := op.open(ctx, i, fl)
		opened[i] = w
		return err
	})
	for _, w := range opened {
		if w != nil {
			fl.widgets = append(fl.widgets, w)
		}
	}
	return fl, st
}

// connReport is the connection phase's outcome.
type connReport struct {
	Requested    int         `json:"requested"`
	Open         stepStats   `json:"open"`          // session + WebSocket
	FirstMessage stepStats   `json:"first_message"` // each visitor writes once
	Memory       []memReport `json:"server_memory,omitempty"`
	ToolRSSKiB   int64       `json:"tool_rss_kib,omitempty"`
}

// connectPhase opens cfg.widgets widgets, measures the server's memory per
// connection, then has each visitor write once so that it has a
// conversation the agent can answer.
func connectPhase(ctx context.Context, cfg config, op *opener, logf func(string, ...any)) (*fleet, *connReport, error) {
	rep := &connReport{Requested: cfg.widgets}
	before := make([]int64, len(cfg.serverPIDs))
	for i, pid := range cfg.serverPIDs {
		kib, err := proc(pid).rssKiB()
		if err != nil {
			return nil, rep, err
		}
		before[i] = kib
	}
	logf("opening %d widgets at %.0f/s", cfg.widgets, cfg.connectRate)
	fl, st := openFleet(ctx, logf, op, cfg.widgets, cfg.connectRate)
	rep.Open = st
	logf("opened %s", st)
	if ctx.Err() != nil {
		return fl, rep, ctx.Err()
	}
	if len(fl.widgets) == 0 {
		return fl, rep, fmt.Errorf("no widget connection opened (%s)", countsString(st.Errors))
	}
	if len(cfg.serverPIDs) > 0 {
		time.Sleep(time.Second) // let the server finish the last handshakes' work
	}
	for i, pid := range cfg.serverPIDs {
		kib, err := proc(pid).rssKiB()
		if err != nil {
			return fl, rep, err
		}
		rep.Memory = append(rep.Memory, memReport{PID: pid, BeforeKiB: before[i], AfterKiB: kib,
			KiBPerConn: float64(kib-before[i]) / float64(len(fl.widgets))})
	}
	if kib, err := proc(os.Getpid()).rssKiB(); err == nil {
		rep.ToolRSSKiB = kib
	}

	logf("each visitor writes one message (%.0f/s)", cfg.connectRate)
	rep.FirstMessage = paced(ctx, logf, "first messages", len(fl.widgets), cfg.connectRate, func(ctx context.Context, i int) error {
		w := fl.widgets[i]
		return w.say(ctx, fmt.Sprintf("Hello, I am load visitor %d.", w.n), fmt.Sprintf("load-%d", w.n))
	})
	logf("first messages: %s", rep.FirstMessage)
	if rep.FirstMessage.OK == 0 {
		return fl, rep, fmt.Errorf("no visitor message was accepted (%s)", countsString(rep.FirstMessage.Errors))
	}
	return fl, rep, ctx.Err()
}

// progress logs a line every 10 s until the returned stop is called.
func progress(logf func(string, ...any), what string, status func() string) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				logf("  %s... %s%s", what, time.Since(start).Round(time.Second), status())
			}
		}
	}()
	return func() { close(done) }
}
