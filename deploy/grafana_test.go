package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/metrics"
)

// TestGrafanaDashboard checks that deploy/grafana-dashboard.json is valid
// JSON, that its panels have queries, and that every Parley, Go and process
// series a query names is one Parley exports, so that a renamed series
// cannot leave a panel silently empty.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Fatal("the dashboard has no title or uid")
	}

	// Every series Parley exports, each Vec given a child so it shows.
	m := metrics.New()
	m.WatchConnections(func() (int, int) { return 0, 0 })
	m.WatchBacklog(func(context.Context, time.Time) (metrics.Backlog, error) { return metrics.Backlog{}, nil }, time.Second, nil)
	m.MessageCreated("widget")
	m.EmailOutcome(metrics.EmailSent, time.Second)
	m.Request("GET /healthz", 200, time.Millisecond)
	m.WatchWriter()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		exported[name] = true
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			exported[name+suffix] = true
		}
	}

	series := regexp.MustCompile(`\b(?:parley|go|process)_[a-z_]+\b`)
	covered := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := series.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no series", p.Title, tg.Expr)
			}
			for _, n := range names {
				if !exported[n] {
					t.Errorf("panel %q: %s is not a series Parley exports", p.Title, n)
				}
				covered[strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count")] = true
			}
		}
	}
	for _, want := range []string{"parley_websocket_connections", "parley_messages_total", "parley_emails_total",
		"parley_outbox_pending", "parley_forward_due", "parley_email_delivery_seconds", "parley_http_request_duration_seconds"} {
		if !covered[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}
