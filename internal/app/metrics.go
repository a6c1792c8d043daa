package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// backlogTTL is how long a count of the outbox and the forwarding schedule
// is reused between scrapes: several Prometheus servers scraping every few
// seconds cost one pair of indexed counts.
const backlogTTL = 5 * time.Second

// newMetrics builds the series for PARLEY_METRICS_ADDR: the hub's open
// connections and the database's backlog are read when scraped; on SQLite
// the writer tells its batches as they commit.
func newMetrics(db *store.DB, hub *realtime.Hub, log *slog.Logger) *metrics.Metrics {
	m := metrics.New()
	m.WatchConnections(hub.Counts)
	m.WatchDatabase(db.Counts)
	if db.Dialect() == store.SQLite {
		waited, ran := m.WatchWriter()
		db.WatchWriter(store.WriterWatch{Waited: waited, Ran: ran})
	}
	m.WatchBacklog(func(ctx context.Context, now time.Time) (metrics.Backlog, error) {
		b, err := db.Backlog(ctx, now)
		return metrics.Backlog{OutboxPending: b.OutboxPending, ForwardDue: b.ForwardDue, ForwardScheduled: b.ForwardScheduled}, err
	}, backlogTTL, log)
	return m
}

// metricsHandler serves GET /metrics for PARLEY_METRICS_ADDR, a listener of
// its own so that the series are never reachable through the public
// address.
func metricsHandler(m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}
