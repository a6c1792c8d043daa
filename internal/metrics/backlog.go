package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backlog is the work waiting in the database, shared by every node.
type Backlog struct {
	// OutboxPending: emails queued in the outbox, not yet accepted by the
	// relay (including those waiting for a retry).
	OutboxPending int64
	// ForwardDue: conversations whose forwarding evaluation is due now
	// (it stays near 0 while the engine keeps up).
	ForwardDue int64
	// ForwardScheduled: conversations with a forwarding evaluation
	// scheduled, due now or later.
	ForwardScheduled int64
}

// BacklogFunc counts the backlog as of now, with cheap indexed queries.
type BacklogFunc func(ctx context.Context, now time.Time) (Backlog, error)

// backlogCollector reads the backlog at scrape time, keeping the answer
// for ttl so that several Prometheus servers (or a fast scrape interval)
// cost one query per ttl.
type backlogCollector struct {
	read    BacklogFunc
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	pending, due, scheduled, up *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	cached Backlog
	err    error
}

// WatchBacklog exports the outbox and the forwarding schedule, read by read
// when scraped, at most once per ttl.
func (m *Metrics) WatchBacklog(read BacklogFunc, ttl time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	m.reg.MustRegister(&backlogCollector{
		read: read, ttl: ttl, timeout: 5 * time.Second, now: time.Now, log: log,
		pending:   prometheus.NewDesc("parley_outbox_pending", "Emails in the outbox not yet accepted by the relay (all nodes).", nil, nil),
		due:       prometheus.NewDesc("parley_forward_due", "Conversations whose forwarding evaluation is due now (all nodes).", nil, nil),
		scheduled: prometheus.NewDesc("parley_forward_scheduled", "Conversations with a forwarding evaluation scheduled, now or later (all nodes).", nil, nil),
		up:        prometheus.NewDesc("parley_backlog_up", "1 when the last read of the outbox and forwarding schedule succeeded, else 0.", nil, nil),
	})
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.due
	ch <- c.scheduled
	ch <- c.up
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	b, err := c.get()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(b.OutboxPending))
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(b.ForwardDue))
	ch <- prometheus.MustNewConstMetric(c.scheduled, prometheus.GaugeValue, float64(b.ForwardScheduled))
}

func (c *backlogCollector) get() (Backlog, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.at.IsZero() && now.Sub(c.at) < c.ttl {
		return c.cached, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	c.cached, c.err = c.read(ctx, now)
	c.at = now
	if c.err != nil {
		c.log.Warn("metrics: read the outbox and forwarding backlog", "err", c.err)
	}
	return c.cached, c.err
}
