package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// server is one system under test, started fresh for each run.
type server interface {
	name() string
	// start starts the server and returns its process id; stop ends it.
	start(ctx context.Context, dir string) (pid int, err error)
	stop()
	// open opens one client connection; prev, when not nil, is the same
	// client's earlier connection (a returning visitor).
	open(ctx context.Context, i int, prev *client) (*client, error)
	// prepare makes the client's channel ready to receive (Parley: the
	// visitor's first message makes the conversation).
	prepare(ctx context.Context, c *client) error
	// publish sends message seq to the client through the HTTP API.
	publish(ctx context.Context, c *client, seq int) error
	// seqOf reads the message number out of a frame (false: not a
	// measured message).
	seqOf(frame []byte) (int, bool)
}

// stackReader is a server that reports its goroutine stacks' bytes: in
// use, and scanned by its last garbage collection (-1: not reported).
type stackReader interface {
	stackBytes(ctx context.Context) (inUse, scanned int64, err error)
}

// ponger is a server whose clients must answer its pings themselves.
type ponger interface {
	pong(ctx context.Context, c *client, frame []byte) bool
}

// client is one open connection and what the server needs to reach it.
type client struct {
	conn  *websocket.Conn
	token string // Parley: the visitor token
	key   string // Parley: the conversation id; Centrifugo: the channel
	done  chan struct{}
	setup chan []byte // frames other than measured messages, while prepare waits
}

// rateResult is what one message rate measured.
type rateResult struct {
	rate      float64
	sent      int
	failed    int
	lost      int
	latencies []time.Duration // sorted
	cpu       float64         // server CPU, % of one core, while sending
	work      serverWork      // per message, until the server was quiet
}

func (r rateResult) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(r.latencies)-1))
	return r.latencies[i]
}

type runResult struct {
	server     string
	run        int
	opens      time.Duration // all connections opened
	reopens    time.Duration // all reopened as returning clients
	openCPU    openCPU       // CPU spent while opening
	reopenCPU  openCPU       // CPU spent while reopening
	openWork   serverWork    // per open, until the server was quiet
	reopenWork serverWork
	kibPerConn float64
	// The highest resident memory from the opens to the end of the
	// last rate, over the memory before the opens, per connection: what
	// a host must have, collections' timing included (0: not read).
	peakKiBPerConn float64
	stackPerConn   float64
	// Stack bytes a garbage collection scans, per connection: every
	// cycle, whether the connection did anything or not.
	stackScanPerConn float64
	rates            []rateResult
}

// workCounter is a server that reports the work it did: statements and
// commits on its database and, when it counts them, what it allocated and
// its garbage collector's cycles and CPU.
type workCounter interface {
	workCounts(ctx context.Context) (serverWork, error)
}

// serverWork is a server's work per open or per message (or, as read, its
// totals so far).
type serverWork struct {
	statements, commits float64
	ok                  bool    // read (the server counts it)
	allocated           float64 // bytes
	gcCycles            float64
	gcCPU               float64 // seconds of CPU the garbage collector used
	gcOK                bool    // the last three read (builds before they were served lack them)
}

// workMark reads a server's work counts, when it has them.
func workMark(ctx context.Context, s server) serverWork {
	c, ok := s.(workCounter)
	if !ok {
		return serverWork{}
	}
	w, err := c.workCounts(ctx)
	if err != nil {
		return serverWork{}
	}
	return w
}

// per is the work from mark m to now's mark, per one of n.
func (m serverWork) per(now serverWork, n int) serverWork {
	if !m.ok || !now.ok || n == 0 {
		return serverWork{}
	}
	w := serverWork{statements: (now.statements - m.statements) / float64(n), commits: (now.commits - m.commits) / float64(n), ok: true}
	if m.gcOK && now.gcOK {
		w.allocated, w.gcCycles, w.gcCPU, w.gcOK = (now.allocated-m.allocated)/float64(n), (now.gcCycles-m.gcCycles)/float64(n), (now.gcCPU-m.gcCPU)/float64(n), true
	}
	return w
}

// gcCPUPerCycle is the garbage collector's CPU per cycle, in ms.
func (w serverWork) gcCPUPerCycle() (float64, bool) {
	if !w.gcOK || w.gcCycles == 0 {
		return 0, false
	}
	return w.gcCPU / w.gcCycles * 1e3, true
}

// opened is what openAll opened and measured.
type opened struct {
	clients []*client
	took    time.Duration
	cpu     openCPU
	work    serverWork
}

// openCPU is the CPU time per connection, in microseconds, that the
// server and this tool used while the connections were being opened.
type openCPU struct {
	server, tool float64
}

// tracker matches received messages with their send times.
type tracker struct {
	sent []atomic.Int64 // unix nanos before the HTTP call; 0: not sent
	got  []atomic.Int64 // latency in ns; 0: not received
}

func (t *tracker) arrived(seq int, at time.Time) {
	if seq < 0 || seq >= len(t.sent) {
		return
	}
	s := t.sent[seq].Load()
	if s == 0 {
		return
	}
	d := at.UnixNano() - s
	if d <= 0 {
		d = 1
	}
	t.got[seq].CompareAndSwap(0, d)
}

func measure(ctx context.Context, cfg config, s server, run int) (runResult, error) {
	res := runResult{server: s.name(), run: run + 1}
	dir, err := os.MkdirTemp(cfg.work, s.name()+"-")
	if err != nil {
		return res, err
	}
	pid, err := s.start(ctx, dir)
	defer s.stop() // also when it started but did not become ready
	if err != nil {
		return res, err
	}
	rctx, cancelReaders := context.WithCancel(ctx)
	defer cancelReaders()

	var tr atomic.Pointer[tracker]
	tr.Store(&tracker{})
	startReader := func(c *client) {
		go func() {
			defer close(c.done)
			for {
				_, raw, err := c.conn.Read(rctx)
				at := time.Now()
				if err != nil {
					return
				}
				if pg, ok := s.(ponger); ok && pg.pong(rctx, c, raw) {
					continue
				}
				// A frame may hold several messages, one per line.
				for _, line := range bytes.Split(raw, []byte("\n")) {
					if seq, ok := s.seqOf(line); ok {
						tr.Load().arrived(seq, at)
						continue
					}
					select {
					case c.setup <- line:
					default:
					}
				}
			}
		}()
	}
	// openAll opens every connection (as returning clients of prev, when
	// not nil) and measures it, the database's work until the server is
	// quiet included.
	openAll := func(prev []*client, what string) (opened, error) {
		o := opened{clients: make([]*client, cfg.conns)}
		clients := o.clients
		server0, tool0, err := cpuOf(pid)
		if err != nil {
			return o, err
		}
		mark := workMark(ctx, s)
		start := time.Now()
		err = parallel(ctx, cfg.conns, cfg.concurrency, func(ctx context.Context, i int) error {
			var p *client
			if prev != nil {
				p = prev[i]
			}
			c, err := s.open(ctx, i, p)
			if err != nil {
				return err
			}
			c.done, c.setup = make(chan struct{}), make(chan []byte, 8)
			clients[i] = c
			startReader(c)
			return nil
		})
		o.took = time.Since(start)
		if err != nil {
			return o, err
		}
		server1, tool1, err := cpuOf(pid)
		if err != nil {
			return o, err
		}
		o.cpu = openCPU{server: (server1 - server0) / float64(cfg.conns) * 1e6, tool: (tool1 - tool0) / float64(cfg.conns) * 1e6}
		logf("  %d %s in %s (CPU per open: server %.0f µs, tool %.0f µs)", cfg.conns, what, o.took.Round(time.Millisecond), o.cpu.server, o.cpu.tool)
		// Every server (and build) waits here alike, so that what follows
		// starts from the same point whether it counts its database work
		// or not.
		if _, err := waitQuiet(ctx, pid); err != nil {
			return o, err
		}
		if o.work = mark.per(workMark(ctx, s), cfg.conns); o.work.ok {
			logf("  per open: %.2f statements, %.2f commits", o.work.statements, o.work.commits)
		}
		return o, nil
	}

	// Each server opens from rest: what it does once started (Parley
	// compresses its static assets then) is neither an open's cost nor
	// its memory.
	if _, err := waitQuiet(ctx, pid); err != nil {
		return res, err
	}
	rssBefore, err := rssKiB(pid)
	if err != nil {
		return res, err
	}
	// The kernel's peak (VmHWM) counts from here, not from the start.
	peakFromHere := resetPeak(pid) == nil
	var stackBefore, scanBefore int64
	if st, ok := s.(stackReader); ok {
		if stackBefore, scanBefore, err = st.stackBytes(ctx); err != nil {
			return res, err
		}
	}
	first, err := openAll(nil, "opened")
	if err != nil {
		return res, fmt.Errorf("open: %w", err)
	}
	clients := first.clients
	res.opens, res.openCPU, res.openWork = first.took, first.cpu, first.work
	if err := parallel(ctx, len(clients), cfg.concurrency, func(ctx context.Context, i int) error {
		return s.prepare(ctx, clients[i])
	}); err != nil {
		return res, fmt.Errorf("prepare: %w", err)
	}
	// Let the server finish what the preparation set off (Parley
	// evaluates each new conversation for forwarding and indexes its
	// first message) before reading its memory and sending: the rates
	// measure a steady state, not the tail of the preparation.
	quiet, err := waitQuiet(ctx, pid)
	if err != nil {
		return res, err
	}
	logf("  quiet after %s", quiet.Round(100*time.Millisecond))
	rssAfter, err := rssKiB(pid)
	if err != nil {
		return res, err
	}
	res.kibPerConn = float64(rssAfter-rssBefore) / float64(cfg.conns)

	if st, ok := s.(stackReader); ok {
		if after, scanned, err := st.stackBytes(ctx); err == nil {
			res.stackPerConn = float64(after-stackBefore) / float64(cfg.conns)
			if scanned >= 0 && scanBefore >= 0 {
				res.stackScanPerConn = float64(scanned-scanBefore) / float64(cfg.conns)
			}
		}
	}
	for _, rate := range cfg.rates {
		rr, err := sendAt(ctx, cfg, s, pid, clients, rate, run, &tr)
		if err != nil {
			return res, err
		}
		logf("  %.0f/s: p50 %s p99 %s lost %d failed %d cpu %.0f%%", rate, rr.pct(50), rr.pct(99), rr.lost, rr.failed, rr.cpu)
		res.rates = append(res.rates, rr)
	}
	if peakFromHere {
		if peak, err := statusKiB(pid, "VmHWM"); err == nil {
			res.peakKiBPerConn = float64(peak-rssBefore) / float64(cfg.conns)
		}
	}

	// Returning clients: close every connection, then open them again.
	for _, c := range clients {
		_ = c.conn.Close(websocket.StatusGoingAway, "")
	}
	for _, c := range clients {
		<-c.done
	}
	// From rest again, as before the opens: what the server does as the
	// clients leave (closing their sockets, ending their goroutines) is
	// not a reopen's cost.
	if _, err := waitQuiet(ctx, pid); err != nil {
		return res, err
	}
	again, err := openAll(clients, "reopened")
	if err != nil {
		return res, fmt.Errorf("reopen: %w", err)
	}
	res.reopens, res.reopenCPU, res.reopenWork = again.took, again.cpu, again.work
	for _, c := range again.clients {
		_ = c.conn.CloseNow()
	}
	return res, nil
}

// sendAt publishes at rate for cfg.duration to random clients, each call in
// its own goroutine (an open loop: a slow server shows as latency, not as
// a lower rate), then waits up to 5 s for what is still on its way.
func sendAt(ctx context.Context, cfg config, s server, pid int, clients []*client, rate float64, run int, trp *atomic.Pointer[tracker]) (rateResult, error) {
	rr := rateResult{rate: rate}
	n := int(rate * cfg.duration.Seconds())
	t := &tracker{sent: make([]atomic.Int64, n), got: make([]atomic.Int64, n)}
	trp.Store(t)
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return rr, err
	}
	mark := workMark(ctx, s)
	var failed atomic.Int64
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for seq := 0; seq < n; seq++ {
		due := start.Add(time.Duration(seq) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			return rr, ctx.Err()
		}
		c := clients[rand.IntN(len(clients))]
		wg.Add(1)
		go func(seq int) {
			defer wg.Done()
			// A server far behind answers late: such a call counts as
			// failed after 30 s, so that a run ends.
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			t.sent[seq].Store(time.Now().UnixNano())
			if err := s.publish(pctx, c, seq); err != nil {
				failed.Add(1)
				if failed.Load() <= 3 {
					logf("  publish: %v", err)
				}
			}
		}(seq)
	}
	wg.Wait()
	wall := time.Since(start)
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return rr, err
	}
	rr.cpu = (cpu1 - cpu0) / wall.Seconds() * 100
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		missing := 0
		for i := range t.got {
			if t.got[i].Load() == 0 {
				missing++
			}
		}
		if missing <= int(failed.Load()) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rr.sent, rr.failed = n, int(failed.Load())
	for i := range t.got {
		if d := t.got[i].Load(); d > 0 {
			rr.latencies = append(rr.latencies, time.Duration(d))
		}
	}
	rr.lost = n - rr.failed - len(rr.latencies)
	if cfg.trace != "" {
		if err := writeTrace(cfg.trace, s.name(), run, rate, t); err != nil {
			return rr, err
		}
	}
	sort.Slice(rr.latencies, func(i, j int) bool { return rr.latencies[i] < rr.latencies[j] })
	if _, err := waitQuiet(ctx, pid); err != nil { // as after the opens
		return rr, err
	}
	if rr.work = mark.per(workMark(ctx, s), n); rr.work.ok {
		logf("  per message at %.0f/s: %.2f statements, %.2f commits", rate, rr.work.statements, rr.work.commits)
		if perCycle, ok := rr.work.gcCPUPerCycle(); ok {
			logf("  per message at %.0f/s: %.1f KiB allocated, %.2f GC cycles per 1,000, %.0f ms of GC CPU per cycle", rate, rr.work.allocated/1024, rr.work.gcCycles*1000, perCycle)
		}
	}
	return rr, nil
}

// writeTrace appends one line per message of a rate's run to path, so
// that where a tail comes from (a garbage collection, a checkpoint) can
// be lined up with the server's own log.
func writeTrace(path, server string, run int, rate float64, t *tracker) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	w := bufio.NewWriter(f)
	for i := range t.sent {
		fmt.Fprintf(w, "%s,%d,%g,%d,%d,%d\n", server, run+1, rate, i, t.sent[i].Load(), t.got[i].Load())
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("trace: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}

// parallel calls f for 0..n-1 with at most width calls at once; the first
// error stops it.
func parallel(ctx context.Context, n, width int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) (int64, error) { return statusKiB(pid, "VmRSS") }

// statusKiB reads a field in kB of /proc/PID/status (VmRSS, VmHWM).
func statusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// resetPeak makes a process's peak resident memory (VmHWM) its resident
// memory now (clear_refs 5, Linux 4.0 and later; the process's owner or
// root).
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// cpuSeconds reads a process's user and system CPU time.
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which may hold spaces: state is the
	// first, utime the 12th, stime the 13th.
	i := strings.LastIndexByte(string(raw), ')')
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read /proc/%d/stat", pid)
	}
	return (u + s) / 100, nil // USER_HZ is 100 on Linux
}

// cpuOf reads the CPU time of the server pid and of this tool.
func cpuOf(pid int) (server, tool float64, err error) {
	if server, err = cpuSeconds(pid); err != nil {
		return 0, 0, err
	}
	tool, err = cpuSeconds(os.Getpid())
	return server, tool, err
}

// waitQuiet waits until the process used under 5 % of a core for half a
// second (at least one second, at most a minute), and says how long that
// took.
func waitQuiet(ctx context.Context, pid int) (time.Duration, error) {
	start := time.Now()
	time.Sleep(time.Second)
	for time.Since(start) < time.Minute {
		before, err := cpuSeconds(pid)
		if err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		after, err := cpuSeconds(pid)
		if err != nil {
			return 0, err
		}
		if after-before < 0.025 {
			break
		}
	}
	return time.Since(start), nil
}
