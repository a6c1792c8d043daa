// Command peers measures Parley's realtime path beside Centrifugo's under
// one client shape: N WebSocket connections, each on its own conversation
// (Parley) or channel (Centrifugo); messages at a fixed rate to random ones
// through each server's HTTP API; latency from just before the HTTP call
// until the frame reaches the client. It starts each server itself, a fresh
// one per run, and alternates them (A B A B …) so that a busy machine
// weighs on both alike. README.md says how to run it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	repo        string
	before      string
	centrifugo  string
	work        string
	conns       int
	rates       []float64
	duration    time.Duration
	runs        int
	concurrency int
	only        string
	trace       string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.repo, "repo", "../..", "Parley's repository (built with go build ./cmd/parley)")
	fs.StringVar(&cfg.before, "before", "", "another checkout of Parley, measured too (as parley-before) in the same alternation")
	fs.StringVar(&cfg.centrifugo, "centrifugo", "", "centrifugo binary (default: bin/centrifugo, installed there with go install when missing)")
	fs.StringVar(&cfg.work, "work", "", "directory for the servers' data and logs (default: a new temporary one)")
	fs.IntVar(&cfg.conns, "conns", 10000, "WebSocket connections per run")
	rates := fs.String("rates", "200,1000", "message rates (per second) measured one after the other on the same connections")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long each rate is sent")
	fs.IntVar(&cfg.runs, "runs", 2, "runs of each server, alternating")
	fs.IntVar(&cfg.concurrency, "open-concurrency", 64, "connections being opened at once")
	fs.StringVar(&cfg.only, "only", "", "run only this server (parley or centrifugo)")
	fs.StringVar(&cfg.trace, "trace", "", "append every message's send time and latency to this CSV file (server,run,rate,seq,sent_unix_ns,latency_ns; latency 0: not received)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return cfg, fmt.Errorf("-rates: %q is not a positive number", f)
		}
		cfg.rates = append(cfg.rates, r)
	}
	if cfg.conns <= 0 || cfg.runs <= 0 || cfg.concurrency <= 0 || cfg.duration <= 0 {
		return cfg, errors.New("-conns, -runs, -open-concurrency and -duration are positive")
	}
	if cfg.only != "" && cfg.only != "parley" && cfg.only != "centrifugo" {
		return cfg, fmt.Errorf("-only: %q is neither parley nor centrifugo", cfg.only)
	}
	return cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if err := raiseFileLimit(); err != nil {
		return err
	}
	if cfg.work == "" {
		dir, err := os.MkdirTemp("", "peers-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.work = dir
	}
	var servers []server
	if cfg.only != "centrifugo" {
		if cfg.before != "" {
			p, err := buildParley(ctx, cfg, cfg.before, "parley-before")
			if err != nil {
				return err
			}
			servers = append(servers, p)
		}
		p, err := buildParley(ctx, cfg, cfg.repo, "parley")
		if err != nil {
			return err
		}
		servers = append(servers, p)
	}
	if cfg.only != "parley" {
		c, err := installCentrifugo(ctx, cfg)
		if err != nil {
			return err
		}
		servers = append(servers, c)
	}
	fmt.Fprintf(out, "%d connections, rates %v/s for %s each, %d runs per server, alternating\n",
		cfg.conns, cfg.rates, cfg.duration, cfg.runs)
	var results []runResult
	for i := 0; i < cfg.runs; i++ {
		for _, s := range servers {
			logf("run %d: %s", i+1, s.name())
			res, err := measure(ctx, cfg, s, i)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", s.name(), i+1, err)
			}
			results = append(results, res)
			printRun(out, res)
		}
	}
	printTable(out, cfg, servers, results)
	return nil
}

func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("raise the open-file limit: %w", err)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
