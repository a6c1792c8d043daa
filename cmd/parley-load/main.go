// Command parley-load drives a running Parley over its public API only, as
// real widgets and agents would, and reports what it measured: the cost of
// open widget connections, the latency of agent replies reaching widgets,
// and how fast a burst of departing visitors is forwarded by email.
//
// Run it with -help for the flags; README.md ("Load testing") shows a run.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what the flags say.
type config struct {
	url           string
	agentURL      string
	siteKey       string
	agentEmail    string
	agentPassword string
	widgets       int
	connectRate   float64
	replyRate     float64
	duration      time.Duration
	settle        time.Duration
	serverPIDs    []int
	burst         int
	burstTimeout  time.Duration
	relayListen   string
	json          bool
}

// burstEnv is the server configuration a forwarding burst needs, given the
// sink's address.
func burstEnv(relay string) string {
	return "PARLEY_RATE_LIMITS=off PARLEY_SMTP_URL=smtp://" + relay +
		" PARLEY_FORWARD_LEFT_AFTER=1s PARLEY_FORWARD_QUIET=1s PARLEY_VISITOR_GRACE=200ms"
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("parley-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "Parley base URL (widgets connect here)")
	fs.StringVar(&cfg.agentURL, "agent-url", "", "base URL the agent logs in and replies through (default: --url); another node of the same cluster measures cross-node delivery")
	fs.StringVar(&cfg.siteKey, "site-key", "", "site key of the workspace (parley workspace list) (required)")
	fs.StringVar(&cfg.agentEmail, "agent-email", "", "email of an agent of that workspace (required)")
	fs.StringVar(&cfg.agentPassword, "agent-password", "", "the agent's password (required)")
	fs.IntVar(&cfg.widgets, "widgets", 1000, "widget connections to open for the connection and latency phases (0 skips both)")
	fs.Float64Var(&cfg.connectRate, "connect-rate", 500, "new widget connections (and first messages) per second")
	fs.Float64Var(&cfg.replyRate, "reply-rate", 200, "agent replies per second")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to send replies in the latency phase")
	fs.DurationVar(&cfg.settle, "settle", 0, "before the replies, wait up to this long for the host to be quiet (under 10% of a core besides the tool for a second), so that the latency is the steady state's and not that of the server still working through the opens (0: start at once)")
	fs.Func("server-pid", "`PID` of the server (or PID,PID,... of several nodes): RSS per connection from /proc/PID/status, CPU time during the reply phase from /proc/PID/stat", func(s string) error {
		for _, f := range strings.Split(s, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || pid <= 0 {
				return fmt.Errorf("%q is not a process id", f)
			}
			cfg.serverPIDs = append(cfg.serverPIDs, pid)
		}
		return nil
	})
	fs.IntVar(&cfg.burst, "burst", 0, "forwarding burst: this many identified visitors get a reply and leave at once (0 skips it; needs --relay-listen)")
	fs.DurationVar(&cfg.burstTimeout, "burst-timeout", 120*time.Second, "how long to wait for the burst's emails after the visitors left")
	fs.StringVar(&cfg.relayListen, "relay-listen", "", "`ADDR` (host:port) of the tool's own SMTP sink; Parley must run with "+burstEnv("ADDR"))
	fs.BoolVar(&cfg.json, "json", false, "also print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: parley-load --site-key KEY --agent-email E --agent-password P [flags]

Drives a running Parley over its public API, as widgets and agents would:
  1. opens --widgets widget connections at --connect-rate, each visitor writes one message;
  2. an agent replies at --reply-rate for --duration to random open widgets; each reply's
     latency is measured from just before its POST until its frame reaches the widget;
  3. with --burst N, N identified visitors get one reply each and leave at once; the tool's
     SMTP sink (--relay-listen) times the forwarded emails.
Prints a report; exits 1 when the tool itself fails (cannot log in, no connection opened, ...).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var problems []string
	if cfg.siteKey == "" {
		problems = append(problems, "--site-key is required")
	}
	if cfg.agentEmail == "" || cfg.agentPassword == "" {
		problems = append(problems, "--agent-email and --agent-password are required")
	}
	if cfg.widgets < 0 || cfg.burst < 0 {
		problems = append(problems, "--widgets and --burst are 0 or more")
	}
	if cfg.connectRate <= 0 || cfg.replyRate <= 0 {
		problems = append(problems, "--connect-rate and --reply-rate are more than 0")
	}
	if cfg.settle < 0 {
		problems = append(problems, "--settle is not negative")
	}
	if cfg.duration <= 0 || cfg.burstTimeout <= 0 {
		problems = append(problems, "--duration and --burst-timeout are positive")
	}
	if cfg.burst > 0 && cfg.relayListen == "" {
		problems = append(problems, "--burst needs --relay-listen: the tool receives the forwarded emails itself.\n"+
			"  Start Parley with:  "+burstEnv("127.0.0.1:2525")+" parley serve\n"+
			"  and add:            --relay-listen 127.0.0.1:2525")
	}
	for _, u := range []*string{&cfg.url, &cfg.agentURL} {
		*u = strings.TrimRight(*u, "/")
	}
	if cfg.agentURL == "" {
		cfg.agentURL = cfg.url
	}
	for _, u := range []string{cfg.url, cfg.agentURL} {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			problems = append(problems, fmt.Sprintf("%q is not an http(s) URL", u))
		}
	}
	if len(problems) > 0 {
		return cfg, errors.New(strings.Join(problems, "\n"))
	}
	return cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "parley-load: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep, err := run(ctx, cfg, os.Stderr)
	if ctx.Err() != nil {
		rep.Interrupted = true
	} else if err != nil {
		rep.Error = err.Error()
	}
	rep.print(os.Stdout)
	if cfg.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintln(os.Stderr, "parley-load: interrupted")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "parley-load: %v\n", err)
		os.Exit(1)
	}
}

// run runs the phases in order and returns what was measured, also when a
// phase failed or ctx ended part-way.
func run(ctx context.Context, cfg config, logw io.Writer) (*report, error) {
	rep := &report{URL: cfg.url, AgentURL: cfg.agentURL, StartedAt: time.Now().UTC().Truncate(time.Second)}
	logf := func(format string, args ...any) {
		fmt.Fprintf(logw, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	pool := max(64, int(max(cfg.connectRate, cfg.replyRate)/2))
	widgetAPI := newAPIClient(cfg.url, pool)
	agentAPI := widgetAPI
	if cfg.agentURL != cfg.url {
		agentAPI = newAPIClient(cfg.agentURL, pool)
	}
	wsHTTP := newWSClient()

	var sink *mailSink
	if cfg.burst > 0 {
		var err error
		if sink, err = startSink(cfg.relayListen); err != nil {
			return rep, err
		}
		defer sink.close()
		logf("SMTP sink on %s; Parley must run with %s", cfg.relayListen, burstEnv(cfg.relayListen))
	}

	ag, err := login(ctx, agentAPI, cfg.agentEmail, cfg.agentPassword)
	if err != nil {
		return rep, err
	}
	if err := ag.checkSettings(ctx, cfg.burst > 0); err != nil {
		return rep, err
	}
	if err := ag.setStatus(ctx, "online"); err != nil {
		return rep, err
	}
	// A real agent has the dashboard open; without it Parley sets the agent
	// offline after PARLEY_AGENT_AWAY_AFTER and widgets then need the contact form.
	dash, err := openDashboard(ctx, wsHTTP, cfg.agentURL, ag.token, logf)
	if err != nil {
		return rep, err
	}
	defer func() { rep.Dashboard = dash.stop() }()
	logf("logged in as %s (%s) and online; dashboard connected", ag.name, cfg.agentEmail)

	tr := newTracker()
	op := &opener{api: widgetAPI, ws: wsHTTP, wsBase: "ws" + strings.TrimPrefix(cfg.url, "http"),
		siteKey: cfg.siteKey, readCtx: ctx, onReply: tr.arrived}

	if cfg.widgets > 0 {
		fl, conns, err := connectPhase(ctx, cfg, op, logf)
		rep.Connections = conns
		if fl != nil {
			defer fl.closeAll(false) // no-op once the phase closed them
		}
		if err != nil {
			return rep, err
		}
		if err := ag.checkConversation(ctx, fl.widgets[0].convID); err != nil {
			return rep, err
		}
		rep.Latency, err = latencyPhase(ctx, cfg, ag, fl, tr, logf)
		if err != nil {
			return rep, err
		}
		// The burst opens as many connections again: close these first, as
		// their visitors would leave (they are not identified, so no email).
		logf("closing the %d widgets", len(fl.widgets))
		fl.closeAll(true)
	}
	if cfg.burst > 0 && ctx.Err() == nil {
		rep.Burst, err = burstPhase(ctx, cfg, op, ag, sink, logf)
		if err != nil {
			return rep, err
		}
	}
	return rep, ctx.Err()
}

// apiClient calls Parley's JSON API over a pool of kept-alive connections.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	tr := &http.Transport{
		Proxy:                 nil, // loopback load: never through a proxy
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       4 << 10,
		ReadBufferSize:        4 << 10,
	}
	return &apiClient{base: base, hc: &http.Client{Transport: tr, Timeout: 90 * time.Second}}
}

// newWSClient is the HTTP client of WebSocket handshakes; the timeout bounds
// the handshake only.
func newWSClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   8,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       2 << 10,
		ReadBufferSize:        2 << 10,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// httpError is an answer of status 300 or more.
type httpError struct {
	method, path string
	status       int
	code, msg    string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.method, e.path, e.status, e.code, e.msg)
}

// do sends in as JSON and decodes a 2xx answer into out (when not nil).
func (c *apiClient) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body) // keep the connection reusable
		resp.Body.Close()
	}()
	if resp.StatusCode >= 300 {
		e := &httpError{method: method, path: path, status: resp.StatusCode}
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
			e.code, e.msg = eb.Error.Code, eb.Error.Message
		} else {
			e.msg = strings.TrimSpace(string(raw))
		}
		return e
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// errKind names an error for the report's error counts: the HTTP status and
// code, or the kind of network failure.
func errKind(err error) string {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", he.status, he.code))
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var fe *frameError
	if errors.As(err, &fe) {
		return "frame error " + fe.code
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// proc reads a process's memory and CPU time from /proc.
type proc int

// userHZ is the clock tick of /proc on Linux.
const userHZ = 100

// rssKiB is VmRSS of /proc/PID/status.
func (p proc) rssKiB() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p))
	if err != nil {
		return 0, fmt.Errorf("server process: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p)
}

// cpu is utime+stime of /proc/PID/stat.
func (p proc) cpu() (time.Duration, error) {
	path := fmt.Sprintf("/proc/%d/stat", p)
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("server process: %w", err)
	}
	// The command name (field 2) may hold spaces; fields after its ")" are
	// state (3), ..., utime (14), stime (15).
	i := bytes.LastIndexByte(raw, ')')
	f := strings.Fields(string(raw[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("unexpected %s", path)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected %s", path)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// report is everything measured.
type report struct {
	URL         string         `json:"url"`
	AgentURL    string         `json:"agent_url"`
	StartedAt   time.Time      `json:"started_at"`
	Connections *connReport    `json:"connections,omitempty"`
	Latency     *latencyReport `json:"latency,omitempty"`
	Burst       *burstReport   `json:"burst,omitempty"`
	Dashboard   dashReport     `json:"dashboard"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// stepStats describes one paced step (opening, messages, replies).
type stepStats struct {
	Attempted int            `json:"attempted"`
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"per_second"` // attempted per second
	P50ms     float64        `json:"p50_ms"`     // how long one call took
	P99ms     float64        `json:"p99_ms"`
	Errors    map[string]int `json:"errors,omitempty"`
}

func (s stepStats) String() string {
	out := fmt.Sprintf("%d ok of %d in %.1f s (%.0f/s; each p50 %.0f ms, p99 %.0f ms)", s.OK, s.Attempted, s.Seconds, s.PerSecond, s.P50ms, s.P99ms)
	if s.Failed > 0 {
		out += fmt.Sprintf(", %d failed: %s", s.Failed, countsString(s.Errors))
	}
	return out
}

type memReport struct {
	PID        int     `json:"pid"`
	BeforeKiB  int64   `json:"rss_before_kib"`
	AfterKiB   int64   `json:"rss_after_kib"`
	KiBPerConn float64 `json:"kib_per_connection"`
}

type cpuReport struct {
	PID             int     `json:"pid"`
	Seconds         float64 `json:"cpu_seconds"`
	PercentOneCore  float64 `json:"percent_of_one_core"`
	RSSAfterKiB     int64   `json:"rss_after_kib,omitempty"`
	ProcessNotFound bool    `json:"process_not_found,omitempty"`
}

func (c cpuReport) String() string {
	if c.ProcessNotFound {
		return "process not found"
	}
	s := fmt.Sprintf("%.1f s CPU = %.0f%% of one core", c.Seconds, c.PercentOneCore)
	if c.RSSAfterKiB > 0 {
		s += fmt.Sprintf(", RSS %.1f MiB after", float64(c.RSSAfterKiB)/1024)
	}
	return s
}

// cpuUse is the CPU time used during a phase by the server, by this tool
// and by everything else on the host (noise when the host is shared).
type cpuUse struct {
	WallSeconds float64     `json:"wall_seconds"`
	Server      []cpuReport `json:"server,omitempty"`
	Tool        cpuReport   `json:"tool"`
	Others      cpuReport   `json:"other_processes"`
	CPUs        int         `json:"cpus"`
	LoadAvg     string      `json:"load_average"` // 1, 5, 15 min at the end
}

func (u cpuUse) print(line func(string, string, ...any)) {
	for _, c := range u.Server {
		line(fmt.Sprintf("server CPU (pid %d)", c.PID), "%s", c)
	}
	line("tool CPU", "%s", u.Tool)
	line("rest of the host", "%s (the database server and anything else; %d CPUs, load average %s)", u.Others, u.CPUs, u.LoadAvg)
}

type cpuMeter struct {
	start  time.Time
	pids   []int
	before []time.Duration // tool, then each server
	host   time.Duration
}

func startCPUMeter(pids []int) *cpuMeter {
	m := &cpuMeter{start: time.Now(), pids: append([]int{os.Getpid()}, pids...)}
	for _, pid := range m.pids {
		d, _ := proc(pid).cpu()
		m.before = append(m.before, d)
	}
	m.host, _ = hostBusy()
	return m
}

func (m *cpuMeter) finish() cpuUse {
	wall := time.Since(m.start)
	u := cpuUse{WallSeconds: wall.Seconds(), CPUs: runtime.NumCPU()}
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / wall.Seconds() }
	var ours time.Duration
	for i, pid := range m.pids {
		c := cpuReport{PID: pid}
		after, err := proc(pid).cpu()
		if err != nil {
			c.ProcessNotFound = true
		} else {
			used := after - m.before[i]
			ours += used
			c.Seconds, c.PercentOneCore = used.Seconds(), pct(used)
			c.RSSAfterKiB, _ = proc(pid).rssKiB()
		}
		if i == 0 {
			u.Tool = c
		} else {
			u.Server = append(u.Server, c)
		}
	}
	if host, err := hostBusy(); err == nil {
		other := max(host-m.host-ours, 0)
		u.Others = cpuReport{Seconds: other.Seconds(), PercentOneCore: pct(other)}
	}
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(raw)); len(f) >= 3 {
			u.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return u
}

// hostBusy is the CPU time all CPUs spent busy (/proc/stat).
func hostBusy() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat")
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

type dashReport struct {
	Events int64 `json:"events"`
	Drops  int64 `json:"drops"` // times the server closed the dashboard connection
}

func countsString(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d× %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

func (r *report) print(w io.Writer) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-22s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "\nParley load report: widgets on %s, agent on %s\n", r.URL, r.AgentURL)
	if c := r.Connections; c != nil {
		fmt.Fprintf(w, "\nConnections (%d widgets)\n", c.Requested)
		line("opened", "%s", c.Open)
		line("first messages", "%s", c.FirstMessage)
		for _, m := range c.Memory {
			line(fmt.Sprintf("server RSS (pid %d)", m.PID), "%.1f MiB before, %.1f MiB after: %.1f KiB per connection",
				float64(m.BeforeKiB)/1024, float64(m.AfterKiB)/1024, m.KiBPerConn)
		}
		if c.ToolRSSKiB > 0 {
			line("tool RSS", "%.1f MiB with the widgets open", float64(c.ToolRSSKiB)/1024)
		}
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "\nReply latency (target %.0f/s for %s, %d senders)\n", l.TargetRate, time.Duration(l.DurationSeconds*float64(time.Second)), l.Senders)
		if l.Settle != nil {
			line("settled", "%s", l.Settle)
		}
		line("replies posted", "%d (%.1f/s achieved), %d ok (%.1f/s sustained)", l.Sent, l.AchievedRate, l.OK, l.SustainedRate)
		line("HTTP errors", "%s", countsString(l.HTTPErrors))
		line("delivered to widgets", "%d, lost %d (not there 5 s after the end), duplicates %d", l.Delivered, l.Lost, l.Duplicates)
		line("latency ms", "p50 %.1f  p90 %.1f  p99 %.1f  max %.1f", l.P50, l.P90, l.P99, l.Max)
		line("POST answered in ms", "p50 %.1f  p99 %.1f  max %.1f", l.PostP50, l.PostP99, l.PostMax)
		l.CPU.print(line)
		line("widgets dropped", "%d closed by the server during the run", l.WidgetsDropped)
	}
	if b := r.Burst; b != nil {
		fmt.Fprintf(w, "\nForwarding burst (%d visitors)\n", b.Visitors)
		line("opened", "%s", b.Open)
		line("identified + wrote", "%s", b.Identify)
		line("agent replies", "%s", b.Reply)
		line("left", "%d widgets closed in %.2f s", b.Left, b.LeaveSeconds)
		line("emails expected", "%d (one per conversation with a reply)", b.Expected)
		line("emails received", "%d of %d within %.0f s; missing %d", b.Received, b.Expected, b.TimeoutSeconds, b.Missing)
		if b.AllAcceptedSeconds != nil {
			line("all accepted after", "%.2f s (from the moment they left)", *b.AllAcceptedSeconds)
		} else if b.Received > 0 {
			line("all accepted after", "never (last one after %.2f s)", b.LastSeconds)
		}
		if b.Received > 0 {
			line("arrivals s", "first %.2f  p50 %.2f  p99 %.2f  last %.2f", b.FirstSeconds, b.P50Seconds, b.P99Seconds, b.LastSeconds)
		}
		line("duplicates", "%d same conversation, %d same Message-ID", b.DuplicateConversations, b.DuplicateMessageIDs)
		if b.Early > 0 || b.Unexpected > 0 {
			line("unexpected", "%d before the visitors left, %d for other conversations", b.Early, b.Unexpected)
		}
	}
	fmt.Fprintf(w, "\nDashboard: %d events received, dropped by the server %d times\n", r.Dashboard.Events, r.Dashboard.Drops)
	if r.Error != "" {
		fmt.Fprintf(w, "\nFAILED: %s\n", r.Error)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "\nINTERRUPTED: the report is partial")
	}
}
