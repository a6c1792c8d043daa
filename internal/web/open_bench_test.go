package web_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// BenchmarkWidgetOpen measures widgets opening: the session, then the
// WebSocket, on a real server and SQLite, with an agent's dashboard open.
// "new" is a first visit; "returning" a visitor with a conversation coming
// back within the grace period (a page change). Client and server run in
// this process: cpu-µs/op is the process's CPU time per open, the server's
// work after each handshake included (it waits for the server to be quiet
// before reading the clock); compare builds with benchstat. statements/op
// and commits/op are the database's work per open, which unlike the time
// does not depend on the machine (serially, each commit holds one open's
// writes; under load the committer batches them).
func BenchmarkWidgetOpen(b *testing.B) {
	for _, returning := range []bool{false, true} {
		name := "new"
		if returning {
			name = "returning"
		}
		b.Run(name, func(b *testing.B) {
			s := apptest.Start(b, map[string]string{"PARLEY_VISITOR_GRACE": "10m", "PARLEY_RATE_LIMITS": "off"})
			a := s.AddAgent("ann@example.com", "Ann")
			s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			dash := s.DialAgent(a.Token)
			defer dash.Close()
			type session struct {
				VisitorToken string `json:"visitor_token"`
			}
			open := func(tok string) string {
				req := map[string]string{"site_key": s.Workspace.SiteKey}
				if tok != "" {
					req["visitor_token"] = tok
				}
				var sess session
				s.Do("POST", "/api/widget/v1/session", "", req, http.StatusOK, &sess)
				s.DialWidget(sess.VisitorToken).Close()
				return sess.VisitorToken
			}
			tokens := make([]string, b.N)
			if returning {
				for i := range tokens {
					tokens[i] = open("")
					s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tokens[i], "body": "hi", "client_id": "c"}, http.StatusCreated, nil)
				}
				waitQuiet(b)
			}
			b.ResetTimer()
			reportDB := countDBWork(b, s)
			cpu0 := cpuTime(b)
			start := time.Now()
			for i := range tokens {
				open(tokens[i])
			}
			wall := time.Since(start)
			reportDB()
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(wall.Microseconds())/float64(b.N), "wall-µs/op")
		})
	}
}

// cpuTime is the CPU time this process used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countDBWork starts counting the database's statements and commits; the
// function it returns waits until the process is quiet (so that the
// forwarding engine's look at what the ops did is counted) and reports
// both per op.
func countDBWork(b *testing.B, s *apptest.Server) (report func()) {
	stmts0, commits0 := s.App.DB.Counts()
	return func() {
		waitQuiet(b)
		stmts, commits := s.App.DB.Counts()
		b.ReportMetric(float64(stmts-stmts0)/float64(b.N), "statements/op")
		b.ReportMetric(float64(commits-commits0)/float64(b.N), "commits/op")
	}
}

// waitQuiet waits until the process used under 2 % of a core for 200 ms.
func waitQuiet(tb testing.TB) {
	for range 100 {
		before := cpuTime(tb)
		time.Sleep(200 * time.Millisecond)
		if cpuTime(tb)-before < 4*time.Millisecond {
			return
		}
	}
}
