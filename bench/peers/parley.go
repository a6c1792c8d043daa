package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

const (
	agentEmail    = "bench@example.test"
	agentPassword = "bench-password"
)

// parley runs Parley as its users do: the binary built from the
// repository, embedded SQLite, rate limits off (every client of the tool
// comes from one address).
type parley struct {
	label      string // "parley", or "parley-before" for the build of -before
	bin        string
	cmd        *exec.Cmd
	base       string // http://127.0.0.1:PORT
	metricsURL string // http://127.0.0.1:PORT/metrics
	siteKey    string
	token      string // the agent's
	hc         *http.Client
	dash       *websocket.Conn
	stopped    chan struct{}
}

func buildParley(ctx context.Context, cfg config, repo, label string) (*parley, error) {
	bin := filepath.Join(cfg.work, label)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parley")
	cmd.Dir = repo
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	logf("building Parley from %s", repo)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build Parley from %s: %w", repo, err)
	}
	return &parley{label: label, bin: bin}, nil
}

func (p *parley) name() string { return p.label }

func (p *parley) env(dir, addr, metrics string) []string {
	return append(os.Environ(),
		"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(dir, "parley.db"),
		"PARLEY_ATTACHMENTS_DIR="+filepath.Join(dir, "attachments"),
		"PARLEY_HTTP_ADDR="+addr,
		"PARLEY_METRICS_ADDR="+metrics,
		"PARLEY_PUBLIC_URL=http://"+addr,
		"PARLEY_RATE_LIMITS=off",
		"PARLEY_LOG_LEVEL=warn",
		// The reopens come back within the grace period, as on a page
		// change (10,000 reopens take longer than the default 3 s).
		"PARLEY_VISITOR_GRACE=60s",
		"PARLEY_FORWARD_LEFT_AFTER=3m",
	)
}

func (p *parley) start(ctx context.Context, dir string) (int, error) {
	addr, metrics := freeAddr(), freeAddr()
	env := p.env(dir, addr, metrics)
	add := exec.CommandContext(ctx, p.bin, "agent", "add", "--email", agentEmail, "--name", "Bench", "--password-stdin")
	add.Dir, add.Env, add.Stdin = dir, env, strings.NewReader(agentPassword+"\n")
	if out, err := add.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("parley agent add: %w: %s", err, out)
	}
	list := exec.CommandContext(ctx, p.bin, "workspace", "list")
	list.Dir, list.Env = dir, env
	out, err := list.Output()
	if err != nil {
		return 0, fmt.Errorf("parley workspace list: %w", err)
	}
	// id, name and site key, tab separated.
	f := strings.Split(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), "\t")
	p.siteKey = f[len(f)-1]

	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return 0, err
	}
	p.cmd = exec.Command(p.bin, "serve")
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = dir, env, logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return 0, fmt.Errorf("start Parley: %w", err)
	}
	p.stopped = make(chan struct{})
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.stopped) }()
	p.base, p.metricsURL = "http://"+addr, "http://"+metrics+"/metrics"
	p.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	if err := waitHTTP(ctx, p.hc, p.base+"/healthz", p.stopped); err != nil {
		return 0, err
	}
	var login struct {
		Token string `json:"token"`
	}
	if err := p.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": agentEmail, "password": agentPassword}, &login); err != nil {
		return 0, err
	}
	p.token = login.Token
	if err := p.call(ctx, http.MethodPut, "/api/v1/me/status", p.token, map[string]string{"status": "online"}, nil); err != nil {
		return 0, err
	}
	// An open dashboard, as in real use: every open and message is also
	// an event for it, and agents are online (no contact form).
	p.dash, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.base, "http")+"/api/v1/ws?token="+url.QueryEscape(p.token), &websocket.DialOptions{HTTPClient: p.hc})
	if err != nil {
		return 0, fmt.Errorf("open the dashboard connection: %w", err)
	}
	p.dash.SetReadLimit(4 << 20)
	go func() {
		for {
			if _, _, err := p.dash.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return p.cmd.Process.Pid, nil
}

func (p *parley) stop() {
	if p.dash != nil {
		_ = p.dash.CloseNow()
		p.dash = nil
	}
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.stopped:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.stopped
		}
	}
	if p.hc != nil {
		p.hc.CloseIdleConnections()
	}
	p.cmd = nil
}

func (p *parley) open(ctx context.Context, i int, prev *client) (*client, error) {
	req := map[string]string{"site_key": p.siteKey}
	if prev != nil {
		req["visitor_token"] = prev.token
	}
	var sess struct {
		VisitorToken   string  `json:"visitor_token"`
		ConversationID *string `json:"conversation_id"`
	}
	if err := p.call(ctx, http.MethodPost, "/api/widget/v1/session", "", req, &sess); err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.base, "http")+"/api/widget/v1/ws?visitor_token="+url.QueryEscape(sess.VisitorToken),
		&websocket.DialOptions{HTTPClient: p.hc})
	if err != nil {
		return nil, fmt.Errorf("widget connection: %w", err)
	}
	c := &client{conn: conn, token: sess.VisitorToken}
	if sess.ConversationID != nil {
		c.key = *sess.ConversationID
	}
	return c, nil
}

func (p *parley) prepare(ctx context.Context, c *client) error {
	raw, _ := json.Marshal(map[string]string{"type": "message", "body": "hello", "client_id": "first"})
	if err := c.conn.Write(ctx, websocket.MessageText, raw); err != nil {
		return fmt.Errorf("write the first message: %w", err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case raw := <-c.setup:
			var f struct {
				Type    string          `json:"type"`
				Code    string          `json:"code"`
				Message json.RawMessage `json:"message"`
			}
			if json.Unmarshal(raw, &f) != nil {
				continue
			}
			if f.Type == "error" {
				return fmt.Errorf("first message refused: %s", raw)
			}
			var m struct {
				ConversationID string `json:"conversation_id"`
				ClientID       string `json:"client_id"`
			}
			if f.Type == "message" && json.Unmarshal(f.Message, &m) == nil && m.ClientID == "first" {
				c.key = m.ConversationID
				return nil
			}
		case <-c.done:
			return fmt.Errorf("widget connection closed before its first message was echoed")
		case <-timeout:
			return fmt.Errorf("no echo of the first message in 30 s")
		}
	}
}

func (p *parley) publish(ctx context.Context, c *client, seq int) error {
	return p.call(ctx, http.MethodPost, "/api/v1/conversations/"+c.key+"/messages", p.token,
		map[string]string{"body": "peers " + strconv.Itoa(seq), "kind": "reply"}, nil)
}

func (p *parley) seqOf(frame []byte) (int, bool) {
	// Cheap test first: most frames are not agent replies.
	if !bytes.Contains(frame, []byte(`"peers `)) {
		return 0, false
	}
	var f struct {
		Type    string `json:"type"`
		Message struct {
			Body string `json:"body"`
		} `json:"message"`
	}
	if json.Unmarshal(frame, &f) != nil || f.Type != "message" {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(f.Message.Body, "peers "))
	return n, err == nil
}

// stackBytes reads the bytes of goroutine stacks in use, and those the last
// garbage collection scanned (-1 from a build that does not serve it), from
// the metrics listener (the Go collector's reading of runtime/metrics).
func (p *parley) stackBytes(ctx context.Context) (inUse, scanned int64, err error) {
	v, err := p.metrics(ctx, "go_memstats_stack_inuse_bytes", "go_gc_scan_stack_bytes")
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(v[0]) {
		return 0, 0, fmt.Errorf("no go_memstats_stack_inuse_bytes in Parley's metrics")
	}
	if math.IsNaN(v[1]) {
		return int64(v[0]), -1, nil
	}
	return int64(v[0]), int64(v[1]), nil
}

// workCounts reads the statements and commits Parley ran on its database
// (a build without those series answers an error), and the bytes it
// allocated and its garbage collector's cycles and CPU (from the Go
// collector's reading of runtime/metrics; older builds lack them).
func (p *parley) workCounts(ctx context.Context) (serverWork, error) {
	names := []string{"parley_db_statements_total", "parley_db_commits_total",
		"go_gc_heap_allocs_bytes_total", "go_gc_cycles_total_gc_cycles_total", "go_cpu_classes_gc_total_cpu_seconds_total"}
	v, err := p.metrics(ctx, names...)
	if err != nil {
		return serverWork{}, err
	}
	w := serverWork{statements: v[0], commits: v[1], ok: !math.IsNaN(v[0]) && !math.IsNaN(v[1])}
	if !w.ok {
		return serverWork{}, fmt.Errorf("no database counts in Parley's metrics")
	}
	w.allocated, w.gcCycles, w.gcCPU = v[2], v[3], v[4]
	w.gcOK = !math.IsNaN(v[2]) && !math.IsNaN(v[3]) && !math.IsNaN(v[4])
	return w, nil
}

// metrics reads series without labels from one scrape of Parley's metrics
// listener, in the order asked; NaN for one it does not serve.
func (p *parley) metrics(ctx context.Context, names ...string) ([]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read Parley's metrics: %w", err)
	}
	defer resp.Body.Close()
	v := make([]float64, len(names))
	for i := range v {
		v[i] = math.NaN()
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for i, name := range names {
			if s, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
				if v[i], err = strconv.ParseFloat(s, 64); err != nil {
					return nil, fmt.Errorf("read %s in Parley's metrics: %w", name, err)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Parley's metrics: %w", err)
	}
	return v, nil
}

func (p *parley) call(ctx context.Context, method, path, token string, body, out any) error {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return doJSON(p.hc, req, out)
}

func doJSON(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, b)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// freeAddr finds a free loopback port.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP waits until url answers 200, the process ends, or 60 s pass.
func waitHTTP(ctx context.Context, hc *http.Client, u string, stopped <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-stopped:
			return fmt.Errorf("the server stopped before answering %s (see its log)", u)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer in 60 s", u)
}
