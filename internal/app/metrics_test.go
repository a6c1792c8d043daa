package app_test

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// scrape reads GET /metrics and parses every sample of the text format.
func scrape(t *testing.T, addr string) []sample {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: Content-Type %q, want the text format", ct)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad value in %q", line)
		}
		s := sample{name: line[:sp], labels: map[string]string{}, value: v}
		if i := strings.IndexByte(s.name, '{'); i >= 0 {
			for _, m := range labelRE.FindAllStringSubmatch(s.name[i:], -1) {
				s.labels[m[1]] = m[2]
			}
			s.name = s.name[:i]
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return out
}

// value is the sample of name whose labels include want (-1 when absent).
func value(samples []sample, name string, want map[string]string) float64 {
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && s.labels[k] == v
		}
		if ok {
			return s.value
		}
	}
	return -1
}

// TestMetricsAfterAChat scrapes the metrics listener through a real chat: a
// visitor writes in the widget, an agent answers from the API, the visitor
// leaves, and the answer is forwarded by email through a loopback relay
// that first stalls and refuses it, then accepts it.
func TestMetricsAfterAChat(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a forwarded email")
	}
	relay := apptest.StartRelay(t)
	metricsAddr := apptest.FreeAddr(t)
	s := apptest.Start(t, map[string]string{
		"PARLEY_METRICS_ADDR":       metricsAddr,
		"PARLEY_SMTP_URL":           relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER": "1s",
		"PARLEY_FORWARD_IDLE_AFTER": "3s",
		"PARLEY_FORWARD_QUIET":      "500ms",
		"PARLEY_VISITOR_GRACE":      "200ms",
		"PARLEY_MAIL_RETRY_BASE":    "100ms",
	})
	const wait = 10 * time.Second
	apptest.Eventually(t, 5*time.Second, "metrics listener up", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	// Every channel's message count is a series from the start, at 0.
	before := scrape(t, metricsAddr)
	for _, c := range []string{"widget", "dashboard", "email", "messenger", "instagram"} {
		if v := value(before, "parley_messages_total", map[string]string{"channel": c}); v != 0 {
			t.Errorf("parley_messages_total{channel=%q} before any message: %v, want 0", c, v)
		}
	}

	agent := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", agent.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	dash := s.DialAgent(agent.Token)
	defer dash.Close()

	var sess struct {
		VisitorToken string        `json:"visitor_token"`
		Visitor      model.Visitor `json:"visitor"`
	}
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	widget := s.DialWidget(sess.VisitorToken)
	widget.Send(map[string]string{"type": "contact", "email": "vera@example.net", "name": "Vera"})
	widget.WaitFor("contact", wait)
	var first model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Where is my order?", "client_id": model.NewID()}, http.StatusCreated, &first)
	conv := first.ConversationID

	apptest.Eventually(t, wait, "both connections counted", func() bool {
		m := scrape(t, metricsAddr)
		return value(m, "parley_websocket_connections", map[string]string{"side": "widget"}) == 1 &&
			value(m, "parley_websocket_connections", map[string]string{"side": "agent"}) == 1
	})

	// The relay stalls the first attempt: the email waits in the outbox.
	held := relay.Hold()
	var reply model.Message
	s.Do("POST", "/api/v1/conversations/"+conv+"/messages", agent.Token, map[string]string{"body": "It left this morning.", "kind": "reply"}, http.StatusCreated, &reply)
	widget.Close()
	select {
	case <-held:
	case <-time.After(wait):
		t.Fatal("no email reached the relay")
	}
	apptest.Eventually(t, wait, "the email counted as pending in the outbox", func() bool {
		m := scrape(t, metricsAddr)
		return value(m, "parley_outbox_pending", nil) == 1 &&
			value(m, "parley_emails_total", map[string]string{"status": "queued"}) == 1 &&
			value(m, "parley_websocket_connections", map[string]string{"side": "widget"}) == 0
	})
	relay.Release() // refused with 451, then retried and accepted
	relay.Wait(t, 1, wait)

	// Unknown addresses, a page and an API path, count as unmatched.
	for _, path := range []string{"/nope/" + conv, "/api/v1/doesnotexist"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}

	var m []sample
	apptest.Eventually(t, wait, "the outbox empty and the email sent", func() bool {
		m = scrape(t, metricsAddr)
		return value(m, "parley_outbox_pending", nil) == 0 &&
			value(m, "parley_emails_total", map[string]string{"status": "sent"}) == 1
	})
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"parley_messages_total", map[string]string{"channel": model.MsgChannelWidget}, 1},
		{"parley_messages_total", map[string]string{"channel": model.MsgChannelDashboard}, 1},
		{"parley_emails_total", map[string]string{"status": "queued"}, 1},
		{"parley_emails_total", map[string]string{"status": "deferred"}, 1},
		{"parley_emails_total", map[string]string{"status": "sent"}, 1},
		{"parley_emails_total", map[string]string{"status": "failed"}, 0},
		{"parley_emails_total", map[string]string{"status": "bounced"}, 0},
		{"parley_email_delivery_seconds_count", nil, 1},
		{"parley_websocket_connections", map[string]string{"side": "agent"}, 1},
		{"parley_websocket_connections", map[string]string{"side": "widget"}, 0},
		{"parley_forward_due", nil, 0},
		{"parley_backlog_up", nil, 1},
		// One email queued; on SQLite no other node holds a conversation,
		// and nothing failed.
		{"parley_forward_decisions_total", map[string]string{"result": "queued"}, 1},
		{"parley_forward_decisions_total", map[string]string{"result": "skipped"}, 0},
		{"parley_forward_decisions_total", map[string]string{"result": "failed"}, 0},
		{"parley_http_request_duration_seconds_count", map[string]string{"route": "POST /api/v1/conversations/{id}/messages", "code": "201"}, 1},
		{"parley_http_request_duration_seconds_count", map[string]string{"route": "POST /api/widget/v1/messages", "code": "201"}, 1},
		{"parley_http_request_duration_seconds_count", map[string]string{"route": "POST /api/widget/v1/session", "code": "200"}, 1},
		{"parley_http_request_duration_seconds_count", map[string]string{"route": "unmatched", "code": "404"}, 2},
	}
	for _, w := range want {
		if got := value(m, w.name, w.labels); got != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	// A request's time is counted from a quarter of a millisecond: most
	// take less than Prometheus's default first bucket (5 ms).
	for _, le := range []string{"0.00025", "0.0005", "0.001", "0.0025", "0.005", "10", "+Inf"} {
		labels := map[string]string{"route": "POST /api/v1/conversations/{id}/messages", "code": "201", "le": le}
		if value(m, "parley_http_request_duration_seconds_bucket", labels) < 0 {
			t.Errorf("parley_http_request_duration_seconds_bucket%v missing", labels)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds_count", "go_sched_latencies_seconds_count", "parley_forward_scheduled"} {
		if value(m, name, nil) < 0 {
			t.Errorf("%s missing", name)
		}
	}
	// The garbage collector's work: after a chat, something was allocated,
	// and what a cycle scans and costs is there to read.
	for _, name := range []string{"go_gc_heap_allocs_bytes_total", "go_gc_cycles_total_gc_cycles_total", "go_gc_scan_stack_bytes", "go_gc_scan_heap_bytes", "go_cpu_classes_gc_total_cpu_seconds_total"} {
		if value(m, name, nil) < 0 {
			t.Errorf("%s missing", name)
		}
	}
	if v := value(m, "go_gc_heap_allocs_bytes_total", nil); v <= 0 {
		t.Errorf("go_gc_heap_allocs_bytes_total = %v, want the chat's allocations counted", v)
	}
	// The visitor's message, the reply and the leave were looked at:
	// at least the wait the leave started was recorded.
	if v := value(m, "parley_forward_decisions_total", map[string]string{"result": "updated"}); v < 1 {
		t.Errorf("parley_forward_decisions_total{result=updated} = %v, want at least 1", v)
	}
	// A chat and an email ran statements and committed some of them.
	if stmts, commits := value(m, "parley_db_statements_total", nil), value(m, "parley_db_commits_total", nil); commits < 1 || stmts < commits {
		t.Errorf("parley_db_statements_total = %v, parley_db_commits_total = %v: want both counted, more statements than commits", stmts, commits)
	}

	// SQLite's one writer told its batches and its transactions' waits
	// (the store's tests hold the exact counts: the scrape reads the
	// series one by one while background writes may commit).
	waits, batches := value(m, "parley_db_writer_wait_seconds_count", nil), value(m, "parley_db_writer_batch_seconds_count", nil)
	inBatches := value(m, "parley_db_writer_batch_transactions_sum", nil)
	if batches < 1 || waits < 1 || inBatches < batches {
		t.Errorf("parley_db_writer_wait_seconds_count = %v, parley_db_writer_batch_seconds_count = %v, parley_db_writer_batch_transactions_sum = %v: want waits and batches of at least one transaction",
			waits, batches, inBatches)
	}

	// No label carries an id, a token, an address or a raw path.
	secrets := []string{conv, first.ID, reply.ID, sess.Visitor.ID, sess.VisitorToken, agent.ID, agent.Token,
		s.Workspace.ID, s.Workspace.SiteKey, "vera@example.net", "ann@example.com"}
	for _, smp := range m {
		for k, v := range smp.labels {
			for _, secret := range secrets {
				if strings.Contains(v, secret) {
					t.Errorf("%s{%s=%q} holds %q", smp.name, k, v, secret)
				}
			}
			if k == "route" && v != "unmatched" && !strings.Contains(v, " ") {
				t.Errorf("%s{route=%q} is not a route pattern", smp.name, v)
			}
		}
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	s := apptest.Start(t, nil)
	if s.App.Metrics != nil {
		t.Fatal("metrics on without PARLEY_METRICS_ADDR")
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public address: %d, want 404", resp.StatusCode)
	}
}
