package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printRun(out io.Writer, r runResult) {
	fmt.Fprintf(out, "%-10s run %d: opens %.2fs reopens %.2fs rss/conn %.1f KiB", r.server, r.run,
		r.opens.Seconds(), r.reopens.Seconds(), r.kibPerConn)
	if r.peakKiBPerConn != 0 {
		fmt.Fprintf(out, " peak/conn %.1f KiB", r.peakKiBPerConn)
	}
	if r.stackPerConn != 0 {
		fmt.Fprintf(out, " stack/conn %.0f B", r.stackPerConn)
	}
	if r.stackScanPerConn != 0 {
		fmt.Fprintf(out, " stack scanned/conn %.0f B", r.stackScanPerConn)
	}
	fmt.Fprintln(out)
	for _, rr := range r.rates {
		fmt.Fprintf(out, "    %6.0f/s p50 %.2f ms p99 %.2f ms max %.1f ms cpu %.0f%% sent %d failed %d lost %d\n",
			rr.rate, ms(rr.pct(50)), ms(rr.pct(99)), ms(rr.pct(100)), rr.cpu, rr.sent, rr.failed, rr.lost)
	}
}

// atWork reads the database work of the run's i-th rate, when counted.
func atWork(i int, f func(serverWork) float64) func(runResult) (float64, bool) {
	return func(r runResult) (float64, bool) {
		if i >= len(r.rates) || !r.rates[i].work.ok {
			return 0, false
		}
		return f(r.rates[i].work), true
	}
}

// atGC reads what the garbage collector did during the run's i-th rate,
// when the server counts it.
func atGC(i int, f func(serverWork) (float64, bool)) func(runResult) (float64, bool) {
	return func(r runResult) (float64, bool) {
		if i >= len(r.rates) || !r.rates[i].work.gcOK {
			return 0, false
		}
		return f(r.rates[i].work)
	}
}

// metric is one row of the table: a value read from each run.
type metric struct {
	name string
	get  func(runResult) (float64, bool)
}

func printTable(out io.Writer, cfg config, servers []server, results []runResult) {
	metrics := []metric{
		{fmt.Sprintf("%d opens (s)", cfg.conns), func(r runResult) (float64, bool) { return r.opens.Seconds(), true }},
		{fmt.Sprintf("%d reopens (s)", cfg.conns), func(r runResult) (float64, bool) { return r.reopens.Seconds(), true }},
		{"server CPU per open (µs)", func(r runResult) (float64, bool) { return r.openCPU.server, true }},
		{"server CPU per reopen (µs)", func(r runResult) (float64, bool) { return r.reopenCPU.server, true }},
		{"tool CPU per open (µs)", func(r runResult) (float64, bool) { return r.openCPU.tool, true }},
		{"statements per open", func(r runResult) (float64, bool) { return r.openWork.statements, r.openWork.ok }},
		{"commits per open", func(r runResult) (float64, bool) { return r.openWork.commits, r.openWork.ok }},
		{"statements per reopen", func(r runResult) (float64, bool) { return r.reopenWork.statements, r.reopenWork.ok }},
		{"RSS per connection (KiB)", func(r runResult) (float64, bool) { return r.kibPerConn, true }},
		{"peak RSS per connection (KiB)", func(r runResult) (float64, bool) { return r.peakKiBPerConn, r.peakKiBPerConn != 0 }},
		{"stack scanned per GC cycle per connection (B)", func(r runResult) (float64, bool) { return r.stackScanPerConn, r.stackScanPerConn != 0 }},
	}
	for i, rate := range cfg.rates {
		i := i
		at := func(f func(rateResult) float64) func(runResult) (float64, bool) {
			return func(r runResult) (float64, bool) {
				if i >= len(r.rates) {
					return 0, false
				}
				return f(r.rates[i]), true
			}
		}
		metrics = append(metrics,
			metric{fmt.Sprintf("%.0f/s p50 (ms)", rate), at(func(rr rateResult) float64 { return ms(rr.pct(50)) })},
			metric{fmt.Sprintf("%.0f/s p99 (ms)", rate), at(func(rr rateResult) float64 { return ms(rr.pct(99)) })},
			metric{fmt.Sprintf("%.0f/s max (ms)", rate), at(func(rr rateResult) float64 { return ms(rr.pct(100)) })},
			metric{fmt.Sprintf("%.0f/s CPU (%% of a core)", rate), at(func(rr rateResult) float64 { return rr.cpu })},
			metric{fmt.Sprintf("%.0f/s statements per message", rate), atWork(i, func(w serverWork) float64 { return w.statements })},
			metric{fmt.Sprintf("%.0f/s commits per message", rate), atWork(i, func(w serverWork) float64 { return w.commits })},
			metric{fmt.Sprintf("%.0f/s allocated per message (KiB)", rate), atGC(i, func(w serverWork) (float64, bool) { return w.allocated / 1024, true })},
			metric{fmt.Sprintf("%.0f/s GC cycles per 1,000 messages", rate), atGC(i, func(w serverWork) (float64, bool) { return w.gcCycles * 1000, true })},
			metric{fmt.Sprintf("%.0f/s GC CPU per cycle (ms)", rate), atGC(i, serverWork.gcCPUPerCycle)},
			metric{fmt.Sprintf("%.0f/s lost+failed", rate), at(func(rr rateResult) float64 { return float64(rr.lost + rr.failed) })},
		)
	}
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.name()
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "| %s |", "metric (median, min–max)")
	for _, n := range names {
		fmt.Fprintf(out, " %s |", n)
	}
	// Ratios: each Parley column to Centrifugo's, when both ran.
	ref := -1
	for i, n := range names {
		if n == "centrifugo" {
			ref = i
		}
	}
	ratios := 0
	if ref >= 0 {
		for i, n := range names {
			if i != ref {
				fmt.Fprintf(out, " %s/%s |", n, names[ref])
				ratios++
			}
		}
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "|"+strings.Repeat(" --- |", len(names)+1+ratios))
	for _, m := range metrics {
		fmt.Fprintf(out, "| %s |", m.name)
		var meds []float64
		for _, n := range names {
			var vs []float64
			for _, r := range results {
				if r.server == n {
					if v, ok := m.get(r); ok {
						vs = append(vs, v)
					}
				}
			}
			if len(vs) == 0 {
				fmt.Fprint(out, " – |")
				meds = append(meds, 0)
				continue
			}
			sort.Float64s(vs)
			med := vs[len(vs)/2]
			if len(vs)%2 == 0 {
				med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
			}
			meds = append(meds, med)
			fmt.Fprintf(out, " %s (%s–%s) |", num(med), num(vs[0]), num(vs[len(vs)-1]))
		}
		for i := range names {
			if ref < 0 || i == ref {
				continue
			}
			if meds[ref] != 0 {
				fmt.Fprintf(out, " %.2f |", meds[i]/meds[ref])
			} else {
				fmt.Fprint(out, " – |")
			}
		}
		fmt.Fprintln(out)
	}
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
