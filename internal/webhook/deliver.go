package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/worker"
)

// SignatureHeader carries the signature of a delivery.
const SignatureHeader = "X-Parley-Signature"

// Defaults of Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryBase    = 10 * time.Second
	DefaultRetryMax     = time.Hour
	DefaultGiveUpAfter  = 72 * time.Hour
	DefaultDisableAfter = 24 * time.Hour
	// ReadLimit is the most of an answer that is read; ExcerptLimit the
	// most of it that is kept in the log.
	ReadLimit    = 4 << 10
	ExcerptLimit = 256
)

// Sign returns the X-Parley-Signature value of body sent at t:
// "t=UNIX_SECONDS,v1=HEX" with HEX = HMAC-SHA256(secret, UNIX_SECONDS "." body).
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Options configure a Deliverer.
type Options struct {
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (PARLEY_WEBHOOK_ALLOW_PRIVATE=1: tests, receivers on the same host).
	AllowPrivate bool
	// RetryBase is the first retry delay (PARLEY_WEBHOOK_RETRY_BASE); it
	// doubles up to RetryMax.
	RetryBase, RetryMax time.Duration
	// DisableAfter: a webhook whose every attempt failed for this long is
	// disabled; its deliveries wait for it to be enabled again.
	// GiveUpAfter (longer): a delivery still failing this long after its
	// event, while its webhook works for others, is dropped (logged), so
	// that one event the receiver always refuses does not hold its
	// conversation's later ones for ever.
	GiveUpAfter, DisableAfter time.Duration
	// Timeout bounds one call, connection and answer included.
	Timeout time.Duration
	// Lease is how long a claimed delivery is this node's.
	Lease time.Duration
	// Parallel is how many receivers are called at once.
	Parallel int
	NodeID   string
	Now      func() time.Time
	Logger   *slog.Logger
	// OnDisabled is told when a webhook was disabled (a notice for admins).
	OnDisabled func(ctx context.Context, workspaceID, webhookID string)
}

// Deliverer POSTs queued events to their webhooks.
type Deliverer struct {
	db     *store.DB
	client *http.Client
	opts   Options
	log    *slog.Logger
	loop   *worker.Worker
	// queued tells a round whose calls still run that an event was queued.
	queued chan struct{}
}

// NewClient returns the HTTP client of deliveries: no proxy (a proxy would
// reach what the dialer refuses), every connection checked after DNS
// unless allowPrivate, no redirect followed, timeout bounding each call.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = dialControl
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           50,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// New returns a Deliverer; Run starts it.
func New(db *store.DB, opts Options) *Deliverer {
	if opts.RetryBase <= 0 {
		opts.RetryBase = DefaultRetryBase
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	opts.RetryMax = max(opts.RetryMax, opts.RetryBase)
	if opts.GiveUpAfter <= 0 {
		opts.GiveUpAfter = DefaultGiveUpAfter
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = DefaultDisableAfter
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Lease <= 0 {
		opts.Lease = 2*opts.Timeout + time.Minute
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Deliverer{db: db, client: NewClient(opts.AllowPrivate, opts.Timeout), opts: opts, log: opts.Logger,
		queued: make(chan struct{}, 1)}
	d.loop = worker.New(worker.Config{Name: "webhooks", Work: d.deliverDue, NextDue: d.nextDue, Now: opts.Now, Logger: opts.Logger})
	return d
}

// Kick wakes the deliverer (an event was queued, a webhook enabled), or
// tells its running round to claim again.
func (d *Deliverer) Kick() {
	d.loop.Kick()
	select {
	case d.queued <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) { d.loop.Run(ctx) }

// Backoff is the delay after n failed attempts.
func (d *Deliverer) Backoff(n int) time.Duration {
	return worker.Backoff{Base: d.opts.RetryBase, Max: d.opts.RetryMax}.Delay(n)
}

func (d *Deliverer) nextDue(ctx context.Context) (*time.Time, error) {
	next, err := d.db.NextWebhookDue(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the webhook schedule: %w", err)
	}
	return next, nil
}

// reclaimEvery is how often a round whose claims found nothing more looks
// again while calls are still running, for what no Kick announces (a
// retry falling due, another node's event); an event this node queues
// claims at once (Kick), a slot permitting, not after the slowest call.
const reclaimEvery = time.Second

// deliverDue calls the receivers of due deliveries, Parallel at once,
// claiming more as calls end or events are queued, until nothing is due
// and no call runs. Each claimed delivery is the head of its own webhook
// and conversation, so the calls may run together without breaking any
// order; a receiver that hangs holds one slot, not the queue. One
// workspace holds at most Parallel-1 slots, so that its slow receivers
// delay only its own deliveries.
func (d *Deliverer) deliverDue(ctx context.Context) error {
	slots := d.opts.Parallel
	perWorkspace := max(1, slots-1)
	finished := make(chan string) // the workspace of an ended call
	calls := map[string]int{}     // workspace → calls running
	running, drained := 0, false
	tick := time.NewTicker(reclaimEvery)
	defer tick.Stop()
	var err error
	for {
		if !drained && err == nil && running < slots && ctx.Err() == nil {
			// Workspaces at their share are left out; a claim takes no more
			// than the busiest other one may still have, since all of it
			// may be that workspace's.
			var full []string
			busiest := 0
			for ws, n := range calls {
				if n >= perWorkspace {
					full = append(full, ws)
				} else {
					busiest = max(busiest, n)
				}
			}
			limit := min(slots-running, perWorkspace-busiest)
			var batch []store.WebhookDelivery
			batch, err = d.db.ClaimWebhookDeliveries(ctx, d.opts.NodeID, d.opts.Now(), d.opts.Lease, limit, full)
			drained = len(batch) < limit
			for _, it := range batch {
				calls[it.WorkspaceID]++
				running++
				go func() {
					d.deliver(ctx, it)
					finished <- it.WorkspaceID
				}()
			}
		}
		if running == 0 {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case ws := <-finished:
			running--
			if calls[ws] == perWorkspace {
				// The last claim left this workspace out: what it has
				// due may go now.
				drained = false
			}
			if calls[ws]--; calls[ws] == 0 {
				delete(calls, ws)
			}
		case <-d.queued:
			drained = false
		case <-tick.C:
			drained = false
		}
	}
}

// Result is the outcome of one call to a receiver.
type Result struct {
	StatusCode int // 0 when no answer came
	Excerpt    string
	Err        error
	Duration   time.Duration
}

// OK reports a 2xx answer.
func (r Result) OK() bool { return r.Err == nil && r.StatusCode >= 200 && r.StatusCode < 300 }

// Post sends one signed delivery and reads at most ReadLimit bytes of the
// answer.
func (d *Deliverer) Post(ctx context.Context, url, secret, eventID, eventType string, body []byte) Result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	req.Header.Set("X-Parley-Event", eventType)
	req.Header.Set("X-Parley-Event-Id", eventID)
	req.Header.Set(SignatureHeader, Sign(secret, d.opts.Now(), body))
	resp, err := d.client.Do(req)
	if err != nil {
		return Result{Err: err, Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	head, rerr := io.ReadAll(io.LimitReader(resp.Body, ReadLimit))
	res := Result{StatusCode: resp.StatusCode, Excerpt: excerpt(head), Duration: time.Since(start)}
	if rerr != nil && res.OK() {
		// The status line is the answer; a body cut short does not undo it.
		rerr = nil
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		res.Err = fmt.Errorf("redirect to %q not followed", resp.Header.Get("Location"))
	}
	if rerr != nil && res.Err == nil {
		res.Err = fmt.Errorf("read answer: %w", rerr)
	}
	return res
}

// excerpt is the start of an answer as printable text.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if utf8.RuneCountInString(s) > ExcerptLimit {
		s = string([]rune(s)[:ExcerptLimit]) + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return ' '
		}
		return r
	}, s)
}

func (d *Deliverer) deliver(ctx context.Context, it store.WebhookDelivery) {
	res := d.Post(ctx, it.URL, it.Secret, it.EventID, it.EventType, it.Body)
	if res.Err != nil && ctx.Err() != nil {
		// Interrupted by shutdown: the claim is released (or its lease
		// runs out) and the delivery is tried again.
		return
	}
	now := d.opts.Now()
	a := store.WebhookAttempt{EventID: it.EventID, EventType: it.EventType, At: now, OK: res.OK(),
		Excerpt: res.Excerpt, DurationMS: res.Duration.Milliseconds()}
	if res.StatusCode != 0 {
		code := res.StatusCode
		a.StatusCode = &code
	}
	switch {
	case res.Err != nil:
		a.Error = errorText(res.Err)
	case !res.OK():
		a.Error = fmt.Sprintf("the receiver answered %d", res.StatusCode)
	}
	o := store.WebhookOutcome{Attempt: a, Delivered: res.OK(), DisableAfter: d.opts.DisableAfter}
	logged := []any{"webhook", it.WebhookID, "event", it.EventID, "type", it.EventType, "attempt", it.Attempts,
		"status", res.StatusCode, "duration", res.Duration.Round(time.Millisecond)}
	switch {
	case o.Delivered:
		d.log.Info("webhook delivered", logged...)
	case now.Sub(it.CreatedAt) >= d.opts.GiveUpAfter:
		o.GiveUp = true
		d.log.Warn("webhook delivery given up", append(logged, "err", a.Error, "age", now.Sub(it.CreatedAt).Round(time.Minute))...)
	default:
		o.Next = now.Add(d.Backoff(it.Attempts))
		d.log.Warn("webhook delivery failed; will retry", append(logged, "err", a.Error, "retry_at", o.Next)...)
	}
	disabled, err := d.db.RecordWebhookAttempt(context.WithoutCancel(ctx), it, o)
	if err != nil {
		d.log.Error("record webhook attempt", "webhook", it.WebhookID, "event", it.EventID, "err", err)
		return
	}
	if disabled {
		d.log.Warn("webhook disabled: it failed for too long", "webhook", it.WebhookID, "failing_for", d.opts.DisableAfter)
		if d.opts.OnDisabled != nil {
			if w, err := d.webhookWorkspace(ctx, it.WebhookID); err == nil {
				d.opts.OnDisabled(ctx, w, it.WebhookID)
			}
		}
	}
}

func (d *Deliverer) webhookWorkspace(ctx context.Context, id string) (string, error) {
	return d.db.WebhookWorkspace(ctx, id)
}

// errorText says what went wrong in a call, without Go's wrapping of the
// URL (already shown next to it).
func errorText(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Post ") {
		if inner := ue.Unwrap(); inner != nil {
			err = inner
		}
	}
	if errors.Is(err, ErrForbidden) {
		return "refused: " + err.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer within the timeout: " + err.Error()
	}
	return err.Error()
}
