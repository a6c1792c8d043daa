package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsBurstNeedsRelay(t *testing.T) {
	_, err := parseFlags([]string{"--site-key", "k", "--agent-email", "a@example.test", "--agent-password", "p", "--burst", "10"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PARLEY_SMTP_URL=smtp://127.0.0.1:2525") {
		t.Fatalf("want the env line to use, got %v", err)
	}
	cfg, err := parseFlags([]string{"--site-key", "k", "--agent-email", "a@example.test", "--agent-password", "p",
		"--url", "http://a:1/", "--server-pid", "12,34"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.agentURL != "http://a:1" || len(cfg.serverPIDs) != 2 {
		t.Fatalf("agent URL %q, pids %v", cfg.agentURL, cfg.serverPIDs)
	}
}

func TestTracker(t *testing.T) {
	tr := newTracker()
	t0 := time.Now()
	tr.posting(1, t0)
	tr.posting(2, t0)
	tr.posting(3, t0)
	tr.failed(3)
	tr.arrived(replyPrefix+"1: text", t0.Add(5*time.Millisecond))
	tr.arrived(replyPrefix+"1: text", t0.Add(6*time.Millisecond)) // duplicate
	tr.arrived("Hello", t0)                                       // not ours
	if n := tr.waitPending(t.Context(), 0); n != 1 {
		t.Fatalf("pending %d, want 1 (reply 2)", n)
	}
	if len(tr.latencies) != 1 || tr.latencies[0] != 5*time.Millisecond || tr.dups != 1 {
		t.Fatalf("latencies %v dups %d", tr.latencies, tr.dups)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]float64{0: 1, 0.5: 50, 0.99: 99, 1: 100} {
		if got := percentile(d, q); got != want {
			t.Errorf("p%v = %v, want %v", q, got, want)
		}
	}
}

func TestBurstSummary(t *testing.T) {
	left := time.Now()
	at := func(s float64) time.Time { return left.Add(time.Duration(s * float64(time.Second))) }
	mails := []sinkMail{
		{at: at(-1), messageID: "<0>", conversation: "c0"}, // before they left
		{at: at(1), messageID: "<1>", conversation: "c1"},
		{at: at(2), messageID: "<1>", conversation: "c1"}, // resent
		{at: at(3), messageID: "<x>", conversation: "other"},
	}
	rep := &burstReport{Expected: 3}
	rep.summarize(mails, map[string]bool{"c0": true, "c1": true, "c2": true}, left)
	if rep.Received != 2 || rep.Missing != 1 || rep.Early != 1 || rep.Unexpected != 1 ||
		rep.DuplicateConversations != 1 || rep.DuplicateMessageIDs != 1 || rep.AllAcceptedSeconds != nil {
		t.Fatalf("%+v", rep)
	}
}
