package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// agent is a logged-in agent calling the agent API.
type agent struct {
	api   *apiClient
	token string
	id    string
	name  string
}

func login(ctx context.Context, api *apiClient, email, password string) (*agent, error) {
	var out struct {
		Token string `json:"token"`
		Agent struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"agent"`
	}
	err := api.do(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &out)
	if err != nil {
		return nil, fmt.Errorf("log in as %s at %s: %w", email, api.base, err)
	}
	return &agent{api: api, token: out.Token, id: out.Agent.ID, name: out.Agent.Name}, nil
}

func (a *agent) setStatus(ctx context.Context, status string) error {
	if err := a.api.do(ctx, http.MethodPut, "/api/v1/me/status", a.token, map[string]string{"status": status}, nil); err != nil {
		return fmt.Errorf("set the agent %s: %w", status, err)
	}
	return nil
}

// checkSettings refuses workspace settings under which the phases cannot
// work as intended.
func (a *agent) checkSettings(ctx context.Context, burst bool) error {
	var st struct {
		EmailForwarding string `json:"email_forwarding"`
		ContactForm     struct {
			Online string `json:"online"`
		} `json:"contact_form"`
	}
	if err := a.api.do(ctx, http.MethodGet, "/api/v1/settings", a.token, nil, &st); err != nil {
		return fmt.Errorf("read the workspace settings: %w", err)
	}
	if st.ContactForm.Online == "required" {
		return fmt.Errorf("the workspace requires the contact form while agents are online; set it to optional (Settings → Contact form) for load testing")
	}
	if burst && st.EmailForwarding == "off" {
		return fmt.Errorf("email forwarding is off in the workspace, so the burst would get no email; set it to unread (Settings → Preferences)")
	}
	return nil
}

// checkConversation makes sure the agent sees the widgets' conversations
// (the site key and the agent belong to the same workspace).
func (a *agent) checkConversation(ctx context.Context, id string) error {
	err := a.api.do(ctx, http.MethodGet, "/api/v1/conversations/"+url.PathEscape(id), a.token, nil, nil)
	if he, ok := err.(*httpError); ok && he.status == http.StatusNotFound {
		return fmt.Errorf("the agent cannot see the widgets' conversations: --site-key is not the site key of the agent's workspace")
	}
	if err != nil {
		return fmt.Errorf("read a widget's conversation as the agent: %w", err)
	}
	return nil
}

// reply posts an agent reply.
func (a *agent) reply(ctx context.Context, conversationID, body string) error {
	return a.api.do(ctx, http.MethodPost, "/api/v1/conversations/"+url.PathEscape(conversationID)+"/messages",
		a.token, map[string]string{"body": body, "kind": "reply"}, nil)
}

// dashboard is the agent's live connection, kept open (and reopened when
// the server drops it) as the dashboard page would. Events are counted,
// not decoded.
type dashboard struct {
	events atomic.Int64
	drops  atomic.Int64
	cancel context.CancelFunc
	done   chan struct{}
}

func openDashboard(ctx context.Context, hc *http.Client, base, token string, logf func(string, ...any)) (*dashboard, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws?token=" + url.QueryEscape(token)
	dial := func(ctx context.Context) (*websocket.Conn, error) {
		c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		c.SetReadLimit(4 << 20)
		return c, nil
	}
	c, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the agent's dashboard connection: %w", err)
	}
	dctx, cancel := context.WithCancel(ctx)
	d := &dashboard{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for {
			for {
				_, r, err := c.Reader(dctx)
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				if err != nil {
					break
				}
				d.events.Add(1)
			}
			_ = c.CloseNow()
			if dctx.Err() != nil {
				return
			}
			if n := d.drops.Add(1); n <= 3 || n%25 == 0 {
				logf("dashboard connection closed by the server after %d events (drop %d); reconnecting", d.events.Load(), n)
			}
			for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
				if c, err = dial(dctx); err == nil {
					break
				}
				select {
				case <-dctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
	}()
	return d, nil
}

func (d *dashboard) stop() dashReport {
	d.cancel()
	<-d.done
	return dashReport{Events: d.events.Load(), Drops: d.drops.Load()}
}

// replyPrefix starts the body of every reply of the latency phase; the
// sequence number follows.
const replyPrefix = "load reply #"

// tracker matches replies arriving at widgets with when they were posted.
type tracker struct {
	mu        sync.Mutex
	pending   map[int]time.Time // posted, not arrived yet
	delivered map[int]struct{}
	latencies []time.Duration
	dups      int
	unknown   int
}

func newTracker() *tracker {
	return &tracker{pending: map[int]time.Time{}, delivered: map[int]struct{}{}}
}

// posting records that reply seq is about to be posted.
func (t *tracker) posting(seq int, at time.Time) {
	t.mu.Lock()
	t.pending[seq] = at
	t.mu.Unlock()
}

// failed forgets a reply whose POST failed: it is an HTTP error, not lost.
func (t *tracker) failed(seq int) {
	t.mu.Lock()
	delete(t.pending, seq)
	t.mu.Unlock()
}

// arrived is called by widget readers for every agent reply.
func (t *tracker) arrived(body string, at time.Time) {
	rest, ok := strings.CutPrefix(body, replyPrefix)
	if !ok {
		return
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	seq, err := strconv.Atoi(rest[:end])
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if sent, ok := t.pending[seq]; ok {
		t.latencies = append(t.latencies, at.Sub(sent))
		delete(t.pending, seq)
		t.delivered[seq] = struct{}{}
	} else if _, ok := t.delivered[seq]; ok {
		t.dups++
	} else {
		t.unknown++ // its POST failed on our side but the server took it
	}
}

// waitPending waits until every posted reply arrived or timeout passed,
// and returns how many did not.
func (t *tracker) waitPending(ctx context.Context, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		t.mu.Lock()
		n := len(t.pending)
		t.mu.Unlock()
		if n == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// percentile of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

type latencyReport struct {
	TargetRate      float64        `json:"target_per_second"`
	DurationSeconds float64        `json:"duration_seconds"`
	Senders         int            `json:"senders"`
	Sent            int            `json:"sent"`
	OK              int            `json:"ok"`
	AchievedRate    float64        `json:"achieved_per_second"`  // posted per second of the sending window
	SustainedRate   float64        `json:"sustained_per_second"` // answered 201 per second until the last answer
	HTTPErrors      map[string]int `json:"http_errors"`
	Delivered       int            `json:"delivered"`
	Lost            int            `json:"lost"`
	Duplicates      int            `json:"duplicates"`
	Unknown         int            `json:"unknown,omitempty"`
	P50             float64        `json:"p50_ms"`
	P90             float64        `json:"p90_ms"`
	P99             float64        `json:"p99_ms"`
	Max             float64        `json:"max_ms"`
	PostP50         float64        `json:"post_p50_ms"`
	PostP99         float64        `json:"post_p99_ms"`
	PostMax         float64        `json:"post_max_ms"`
	CPU             cpuUse         `json:"cpu"` // while posting
	WidgetsDropped  int64          `json:"widgets_dropped"`
	// Settle is the wait for a quiet host before the replies (nil: none
	// was asked for).
	Settle *settleReport `json:"settle,omitempty"`
}

// latencyPhase posts replies at cfg.replyRate for cfg.duration to random
// open widgets and measures how long each takes to reach its widget.
func latencyPhase(ctx context.Context, cfg config, ag *agent, fl *fleet, tr *tracker, logf func(string, ...any)) (*latencyReport, error) {
	var targets []*widget
	for _, w := range fl.widgets {
		if w.convID != "" {
			targets = append(targets, w)
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no widget has a conversation to reply to")
	}
	senders := min(512, max(16, int(cfg.replyRate/2)))
	rep := &latencyReport{TargetRate: cfg.replyRate, DurationSeconds: cfg.duration.Seconds(), Senders: senders,
		HTTPErrors: map[string]int{}}
	if cfg.settle > 0 {
		st, err := settle(ctx, cfg.settle, time.Second, hostBusy, selfCPU)
		if err != nil {
			return nil, err
		}
		rep.Settle = &st
		logf("replies start: %s", st)
	}
	meter := startCPUMeter(cfg.serverPIDs)

	var (
		mu     sync.Mutex
		failed int
		posts  []time.Duration
		wg     sync.WaitGroup
		jobs   = make(chan int, senders)
	)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				w := targets[rand.IntN(len(targets))]
				body := fmt.Sprintf("%s%d: thanks for your message, we are looking into it.", replyPrefix, seq)
				start := time.Now()
				tr.posting(seq, start)
				err := ag.reply(ctx, w.convID, body)
				took := time.Since(start)
				if err != nil {
					tr.failed(seq)
				}
				mu.Lock()
				if err != nil {
					rep.HTTPErrors[errKind(err)]++
					failed++
				} else {
					rep.OK++
					posts = append(posts, took)
				}
				mu.Unlock()
			}
		}()
	}

	logf("replying at %.0f/s for %s to %d conversations (%d senders)", cfg.replyRate, cfg.duration, len(targets), senders)
	total := int(cfg.duration.Seconds() * cfg.replyRate)
	stop := progress(logf, "replying", func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf(": %d ok, %d failed, %d in flight", rep.OK, failed, rep.Sent-rep.OK-failed)
	})
	start := time.Now()
	for seq := 0; seq < total && ctx.Err() == nil; seq++ {
		due := start.Add(time.Duration(float64(seq) * float64(time.Second) / cfg.replyRate))
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		select {
		case jobs <- seq:
			mu.Lock()
			rep.Sent++
			mu.Unlock()
		case <-ctx.Done():
		}
	}
	window := max(time.Since(start), cfg.duration)
	close(jobs)
	wg.Wait()
	answered := time.Since(start)
	stop()

	rep.CPU = meter.finish()
	rep.AchievedRate = float64(rep.Sent) / window.Seconds()
	rep.SustainedRate = float64(rep.OK) / answered.Seconds()

	logf("posted %d replies (%d ok); waiting up to 5 s for the last ones to arrive", rep.Sent, rep.OK)
	rep.Lost = tr.waitPending(ctx, 5*time.Second)
	tr.mu.Lock()
	lat := append([]time.Duration(nil), tr.latencies...)
	rep.Delivered, rep.Duplicates, rep.Unknown = len(lat), tr.dups, tr.unknown
	tr.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.P50, rep.P90, rep.P99 = percentile(lat, 0.50), percentile(lat, 0.90), percentile(lat, 0.99)
	rep.Max = percentile(lat, 1)
	sort.Slice(posts, func(i, j int) bool { return posts[i] < posts[j] })
	rep.PostP50, rep.PostP99, rep.PostMax = percentile(posts, 0.50), percentile(posts, 0.99), percentile(posts, 1)
	rep.WidgetsDropped = fl.dropped.Load()
	logf("latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; lost %d", rep.P50, rep.P99, rep.Max, rep.Lost)
	return rep, ctx.Err()
}
