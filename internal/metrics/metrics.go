// Package metrics holds Parley's Prometheus series: what the service counts
// as it works (messages, emails, HTTP requests), what is read when the
// series are scraped (open connections, the outbox, the forwarding
// schedule), and the Go runtime's own. They are served on their own
// listener (PARLEY_METRICS_ADDR), never on the public one.
//
// No label ever holds an id, an address or a raw path: every label value
// comes from a small fixed set (channels, statuses, route patterns), so
// that the number of series stays bounded whatever the traffic.
package metrics

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleychat/parley/internal/model"
)

// Email outcomes counted by parley_emails_total{status}.
const (
	EmailQueued   = "queued"   // written to the outbox by the forwarding engine
	EmailSent     = "sent"     // accepted by the relay
	EmailDeferred = "deferred" // a temporary failure: tried again later
	EmailFailed   = "failed"   // refused for good, or given up
	EmailBounced  = "bounced"  // a bounce came back after sending
)

// Metrics is the registry of Parley's series. Its methods may be called on
// a nil *Metrics (metrics off): they do nothing.
type Metrics struct {
	reg      *prometheus.Registry
	messages *prometheus.CounterVec
	emails   *prometheus.CounterVec
	delivery prometheus.Histogram
	requests *prometheus.HistogramVec
	decided  *prometheus.CounterVec
}

// New returns the registry with the Go runtime's and the process's series.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_total",
			Help: "Messages written in conversations by visitors and agents (replies and internal comments), by the channel they were written on.",
		}, []string{"channel"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_emails_total",
			Help: "Forwarded emails by outcome: queued in the outbox, sent, deferred (a temporary failure, tried again), failed, bounced.",
		}, []string{"status"}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_email_delivery_seconds",
			Help: "Time from an email's queueing in the outbox to its acceptance by the relay.",
			// From an immediate send to the retries of a relay that was
			// down for hours.
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "HTTP requests by route pattern (never the raw path) and status code. WebSocket connections are not requests and are left out.",
			Buckets: requestBuckets,
		}, []string{"route", "code"}),
		decided: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_forward_decisions_total",
			Help: "Looks of the forwarding engine at a conversation, by result: settled without a transaction, unchanged, updated (a wait or its reason), queued (an email), skipped (another node held it), failed.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(
		// The scheduler's series too: go_sched_latencies_seconds (how
		// long goroutines wait to run) tells a node short of CPU. And the
		// garbage collector's: its cycles, the bytes allocated
		// (go_gc_heap_allocs_bytes_total), the stacks and heap a cycle
		// scans (go_gc_scan_*), and the CPU it takes
		// (go_cpu_classes_gc_*): a node's thousands of open connections
		// are stacks every cycle scans, and its cycles are when the
		// realtime path's slowest answers happen.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler, collectors.MetricsGC,
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/cpu/classes/gc/`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.messages, m.emails, m.delivery, m.requests, m.decided,
	)
	for _, s := range []string{EmailQueued, EmailSent, EmailDeferred, EmailFailed, EmailBounced} {
		m.emails.WithLabelValues(s) // every outcome is a series from the start, at 0
	}
	// So is every channel a message is written on: a rate over a series
	// that appears with the first message would say nothing until then.
	for _, c := range []string{model.MsgChannelWidget, model.MsgChannelDashboard, model.MsgChannelEmail, model.ChannelMessenger, model.ChannelInstagram} {
		m.messages.WithLabelValues(c)
	}
	return m
}

// ForwardResults makes every result of the forwarding engine's looks a
// series from the start, at 0.
func (m *Metrics) ForwardResults(results []string) {
	if m == nil {
		return
	}
	for _, r := range results {
		m.decided.WithLabelValues(r)
	}
}

// ForwardDecided counts one look of the forwarding engine at a
// conversation, by its result (one of those given to ForwardResults).
func (m *Metrics) ForwardDecided(result string) {
	if m == nil {
		return
	}
	m.decided.WithLabelValues(result).Inc()
}

// Handler serves the series in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the series are registered (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// MessageCreated counts a new message written on channel.
func (m *Metrics) MessageCreated(channel string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(channel).Inc()
}

// EmailOutcome counts an email's outcome (one of the Email* constants).
// For EmailSent, queuedFor is how long it waited since it was queued.
func (m *Metrics) EmailOutcome(status string, queuedFor time.Duration) {
	if m == nil {
		return
	}
	m.emails.WithLabelValues(status).Inc()
	if status == EmailSent && queuedFor >= 0 {
		m.delivery.Observe(queuedFor.Seconds())
	}
}

// Request records how long an HTTP request took. route is the ServeMux
// pattern that matched, never the path.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	if m == nil || status == http.StatusSwitchingProtocols {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

// WatchConnections exports the open WebSocket connections of this node,
// read from counts at each scrape.
func (m *Metrics) WatchConnections(counts func() (widgets, agents int)) {
	desc := prometheus.NewDesc("parley_websocket_connections",
		"Open WebSocket connections on this node: widget (visitors) or agent (dashboards).", []string{"side"}, nil)
	m.reg.MustRegister(collectorFunc{descs: []*prometheus.Desc{desc}, collect: func(ch chan<- prometheus.Metric) {
		w, a := counts()
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(w), "widget")
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(a), "agent")
	}})
}

// WatchDatabase exports the statements and commits this node ran on the
// database, read from counts at each scrape.
func (m *Metrics) WatchDatabase(counts func() (statements, commits int64)) {
	stmts := prometheus.NewDesc("parley_db_statements_total", "SQL statements this node ran on the database.", nil, nil)
	commits := prometheus.NewDesc("parley_db_commits_total", "Transactions this node committed on the database (on SQLite one commit may hold several requests' writes).", nil, nil)
	m.reg.MustRegister(collectorFunc{collect: func(ch chan<- prometheus.Metric) {
		s, c := counts()
		ch <- prometheus.MustNewConstMetric(stmts, prometheus.CounterValue, float64(s))
		ch <- prometheus.MustNewConstMetric(commits, prometheus.CounterValue, float64(c))
	}, descs: []*prometheus.Desc{stmts, commits}})
}

// requestBuckets span an HTTP request's time from a reply stored and sent
// (under a millisecond on a quiet node) to a search or an export of many
// seconds: Prometheus's default buckets start at 5 ms, under which most
// requests fall, and their percentiles could not be read.
var requestBuckets = []float64{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// writerBuckets span a transaction's wait for SQLite's writer and a
// batch's time: from a commit alone (a fraction of a millisecond) to the
// writer falling behind (seconds).
var writerBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// WatchWriter makes the series of SQLite's one writer and returns what
// feeds them: waited, each transaction's wait for the writer; ran, each
// batch's transactions and time.
func (m *Metrics) WatchWriter() (waited func(time.Duration), ran func(transactions int, d time.Duration)) {
	wait := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_db_writer_wait_seconds",
		Help:    "SQLite: how long a transaction waited for the database's one writer, from its queueing to the start of the batch it was committed in.",
		Buckets: writerBuckets,
	})
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_db_writer_batch_seconds",
		Help:    "SQLite: how long the writer took for a batch of transactions, from its start to its commit.",
		Buckets: writerBuckets,
	})
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_db_writer_batch_transactions",
		Help:    "SQLite: transactions committed together in one batch of the writer.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.reg.MustRegister(wait, batch, size)
	return func(d time.Duration) { wait.Observe(d.Seconds()) }, func(n int, d time.Duration) {
		batch.Observe(d.Seconds())
		size.Observe(float64(n))
	}
}

// collectorFunc is a collector of the series descs, read by collect.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
