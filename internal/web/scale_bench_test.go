package web_test

import (
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/store"
)

// The benchmarks below run on a large seeded database: PARLEY_BENCH_MESSAGES
// messages (1,000,000 for the published figures) in conversations of about
// 50, one of them with 10,000. Seeding takes minutes, so they are opt-in:
//
//	PARLEY_BENCH_MESSAGES=1000000 go test ./internal/web -run '^$' -bench Scale -benchtime 400x
//
// PARLEY_BENCH_DATABASE_URL runs them on PostgreSQL (an empty database;
// seeded when it holds no messages) and PARLEY_BENCH_SQLITE names a SQLite
// file kept between runs (seeded when new). Each reports the 50th and 99th
// percentiles of the request durations it measured.

const bigConversationMessages = 10_000

type scale struct {
	srv     *apptest.Server
	token   string
	client  *http.Client // logged in to the dashboard
	bigConv string
	words   []string // the seeded vocabulary, most frequent first
	names   []string
}

func startScale(b *testing.B) *scale {
	b.Helper()
	n, _ := strconv.Atoi(os.Getenv("PARLEY_BENCH_MESSAGES"))
	if n <= 0 {
		b.Skip("set PARLEY_BENCH_MESSAGES (e.g. 1000000) to run the benchmarks on a seeded database")
	}
	env := map[string]string{"PARLEY_RATE_LIMITS": "off"}
	if u := os.Getenv("PARLEY_BENCH_DATABASE_URL"); u != "" {
		env["PARLEY_DATABASE_URL"] = u
	} else if f := os.Getenv("PARLEY_BENCH_SQLITE"); f != "" {
		env["PARLEY_DATABASE_URL"] = "sqlite:" + f
	} else {
		env["PARLEY_DATABASE_URL"] = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	}
	srv := apptest.Start(b, env)
	sc := &scale{srv: srv, words: vocabulary(), names: firstNames}
	var have int
	if err := srv.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == 0 {
		// Seeded with the server stopped: the one long transaction would
		// hold SQLite's write lock longer than the server's busy timeout.
		srv.Stop()
		db, err := store.Open(b.Context(), env["PARLEY_DATABASE_URL"])
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := sc.seed(b.Context(), db.SQL, db.Dialect() == store.Postgres, srv.Workspace.ID, n); err != nil {
			b.Fatal(err)
		}
		// The statistics a running database keeps: autovacuum's on
		// PostgreSQL. A running SQLite has none (Parley never analyzes
		// it), so none are made for it: the figures are an installation's.
		if db.Dialect() == store.Postgres {
			if _, err := db.SQL.ExecContext(b.Context(), `ANALYZE`); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
		b.Logf("seeded %d messages in %v", n, time.Since(start).Round(time.Second))
		srv = apptest.Start(b, env)
		sc.srv = srv
	}
	db := srv.App.DB.SQL
	if err := db.QueryRow(`SELECT conversation_id FROM messages GROUP BY conversation_id ORDER BY COUNT(*) DESC LIMIT 1`).Scan(&sc.bigConv); err != nil {
		b.Fatal(err)
	}
	email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
	a := srv.AddAgent(email, "Bench")
	sc.token = a.Token
	sc.client = dashboardClient(b, srv, email)
	return sc
}

// seed writes n messages, batched in one transaction: visitors (half with a
// name and email), conversations of about 50 messages over a year, and one
// conversation of 10,000 messages. The search indexes are written by the
// same statements, as in production.
func (sc *scale) seed(ctx context.Context, db *sql.DB, postgres bool, workspaceID string, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(sc.words)-1))
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	placeholders := func(rows, cols int) string {
		var sb strings.Builder
		k := 0
		for r := range rows {
			if r > 0 {
				sb.WriteString(",")
			}
			sb.WriteString("(")
			for c := range cols {
				if c > 0 {
					sb.WriteString(",")
				}
				k++
				if postgres {
					sb.WriteString("$" + strconv.Itoa(k))
				} else {
					sb.WriteString("?")
				}
			}
			sb.WriteString(")")
		}
		return sb.String()
	}
	type batch struct {
		head    string
		cols    int
		args    []any
		parents []*batch // written first, for the foreign keys
	}
	var flush func(bt *batch) error
	flush = func(bt *batch) error {
		for _, p := range bt.parents {
			if err := flush(p); err != nil {
				return err
			}
		}
		if len(bt.args) == 0 {
			return nil
		}
		rows := len(bt.args) / bt.cols
		_, err := tx.ExecContext(ctx, bt.head+placeholders(rows, bt.cols), bt.args...)
		bt.args = bt.args[:0]
		return err
	}
	add := func(bt *batch, vals ...any) error {
		bt.args = append(bt.args, vals...)
		if len(bt.args)/bt.cols >= 500 {
			return flush(bt)
		}
		return nil
	}
	visitors := &batch{head: `INSERT INTO visitors (id, workspace_id, name, email, email_status, online, created_at) VALUES `, cols: 7}
	convs := &batch{head: `INSERT INTO conversations (id, workspace_id, visitor_id, status, channel, created_at, last_message_at, agent_read_id, activity_id, visitor_message_id) VALUES `, cols: 10, parents: []*batch{visitors}}
	msgs := &batch{head: `INSERT INTO messages (id, workspace_id, conversation_id, author_kind, author_id, author_name, kind, channel, body, created_at, read_by_visitor_at) VALUES `, cols: 11, parents: []*batch{convs}}

	yearAgo := time.Now().Add(-365 * 24 * time.Hour)
	sentence := func() string {
		k := 4 + rng.IntN(18)
		ws := make([]string, k)
		for i := range ws {
			ws[i] = sc.words[zipf.Uint64()]
		}
		ws[0] = capitalize(ws[0])
		return strings.Join(ws, " ") + []string{".", "?", "!", "…"}[rng.IntN(4)]
	}
	written := 0
	for c := 0; written < n; c++ {
		size := 1 + rng.IntN(99) // about 50 on average
		if c == 0 {
			size = bigConversationMessages
		}
		size = min(size, n-written)
		start := yearAgo.Add(time.Duration(rng.Int64N(int64(360 * 24 * time.Hour))))
		vid, cid := idAt(start), idAt(start.Add(time.Microsecond))
		var name, email any
		if rng.IntN(2) == 0 {
			first, last := sc.names[rng.IntN(len(sc.names))], sc.names[rng.IntN(len(sc.names))]
			name = capitalize(first) + " " + capitalize(last)
			email = fmt.Sprintf("%s.%s%d@example.%s", strings.ToLower(first), strings.ToLower(last), c, []string{"com", "fr", "de", "es"}[rng.IntN(4)])
		}
		if err := add(visitors, vid, workspaceID, name, email, "ok", 0, start.UnixMicro()); err != nil {
			return fmt.Errorf("seed visitors: %w", err)
		}
		at := start
		var lastID string
		var lastVisitorID any
		var rows [][]any
		for range size {
			at = at.Add(time.Duration(1+rng.IntN(600)) * time.Second / time.Duration(max(1, size/50)))
			id := idAt(at)
			author, kind, channel := "visitor", "reply", "widget"
			var agentID, agentName any
			switch r := rng.IntN(10); {
			case r < 4:
				author, agentID, agentName, channel = "agent", "bench-agent", "Ann", "dashboard"
			case r == 4:
				author, agentID, agentName, channel, kind = "agent", "bench-agent", "Ann", "dashboard", "comment"
			case r == 5:
				channel = "email"
			}
			// Replies were read long ago: nothing is left to forward.
			var read any
			if author == "agent" && kind == "reply" {
				read = at.UnixMicro()
			}
			rows = append(rows, []any{id, workspaceID, cid, author, agentID, agentName, kind, channel, sentence(), at.UnixMicro(), read})
			lastID = id
			if author == "visitor" {
				lastVisitorID = id
			}
			written++
		}
		if err := add(convs, cid, workspaceID, vid, []string{"open", "closed", "closed"}[rng.IntN(3)], "website", start.UnixMicro(), at.UnixMicro(), lastID, lastID, lastVisitorID); err != nil {
			return fmt.Errorf("seed conversations: %w", err)
		}
		for _, r := range rows {
			if err := add(msgs, r...); err != nil {
				return fmt.Errorf("seed messages: %w", err)
			}
		}
	}
	if err := flush(msgs); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return tx.Commit()
}

func capitalize(w string) string {
	r := []rune(w)
	return strings.ToUpper(string(r[:1])) + string(r[1:])
}

// idAt makes an id of the store's form (time-ordered) at a given time.
func idAt(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMicro()))
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// measure runs get b.N times and reports the percentiles of its durations;
// it returns the request numbers of the slowest, slowest first.
func measure(b *testing.B, get func(i int) (status int)) (slowest []int) {
	b.Helper()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if st := get(i); st != http.StatusOK {
			b.Fatalf("request %d: status %d", i, st)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	order := make([]int, len(durations))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return int(durations[y] - durations[x]) })
	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[min(len(durations)-1, int(p*float64(len(durations))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(durations[len(durations)-1].Microseconds())/1000, "max-ms")
	return order[:min(len(order), 10)]
}

func (sc *scale) get(b *testing.B, path string, bearer bool) int {
	req, _ := http.NewRequest("GET", sc.srv.URL+path, nil)
	client := sc.client
	if bearer {
		req.Header.Set("Authorization", "Bearer "+sc.token)
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// queries are searches as agents type them: one to three words of the
// vocabulary (frequent words often), typed without their accents a third
// of the time, the last one cut short half of the time, visitors' names,
// and words found nowhere.
func (sc *scale) queries() []string {
	rng := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(sc.words)-1))
	var qs []string
	for len(qs) < 1000 {
		var ws []string
		switch r := rng.IntN(10); {
		case r == 0:
			ws = []string{sc.names[rng.IntN(len(sc.names))]}
		case r == 1:
			ws = []string{"zqxj" + strconv.Itoa(rng.IntN(1000))}
		default:
			for range 1 + rng.IntN(3) {
				w := sc.words[zipf.Uint64()]
				if rng.IntN(3) == 0 {
					w = stripAccents(w)
				}
				ws = append(ws, w)
			}
			if last := []rune(ws[len(ws)-1]); len(last) > 3 && rng.IntN(2) == 0 {
				ws[len(ws)-1] = string(last[:2+rng.IntN(len(last)-2)])
			}
		}
		qs = append(qs, strings.Join(ws, " "))
	}
	return qs
}

// BenchmarkScaleSearch measures GET /api/v1/search end to end.
func BenchmarkScaleSearch(b *testing.B) {
	sc := startScale(b)
	qs := sc.queries()
	durations := make([]time.Duration, 0, b.N)
	slowest := measure(b, func(i int) int {
		if i == 0 {
			durations = durations[:0] // measure runs again with a larger b.N
		}
		start := time.Now()
		st := sc.get(b, "/api/v1/search?q="+url.QueryEscape(qs[i%len(qs)]), true)
		durations = append(durations, time.Since(start))
		return st
	})
	for _, i := range slowest {
		b.Logf("slow: %q %v", qs[i%len(qs)], durations[i].Round(time.Millisecond))
	}
}

// BenchmarkScaleConversationList measures the dashboard's inbox page (the
// conversation list) and the API's list.
func BenchmarkScaleConversationList(b *testing.B) {
	sc := startScale(b)
	b.Run("dashboard", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/dashboard?status=all", false) })
	})
	b.Run("api", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/api/v1/conversations?status=all", true) })
	})
}

// BenchmarkScaleBigConversation opens the conversation of 10,000 messages:
// its newest page, the page around a message deep in its history (a search
// result), a page of older messages (scrolling up), and the API's pages and
// whole history.
func BenchmarkScaleBigConversation(b *testing.B) {
	sc := startScale(b)
	var deep string
	ph := "?"
	if sc.srv.App.DB.Dialect() == store.Postgres {
		ph = "$1"
	}
	if err := sc.srv.App.DB.SQL.QueryRow(`SELECT id FROM messages WHERE conversation_id = `+ph+` ORDER BY id LIMIT 1 OFFSET 1000`,
		sc.bigConv).Scan(&deep); err != nil && !errors.Is(err, sql.ErrNoRows) {
		b.Fatal(err)
	}
	path := "/dashboard/conversations/" + sc.bigConv
	b.Run("dashboard", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, path, false) })
	})
	b.Run("dashboard-at", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, path+"?status=all&at="+deep, false) })
	})
	b.Run("dashboard-older", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/dashboard/partials/messages/"+sc.bigConv+"?before="+deep, false) })
	})
	b.Run("api-page", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/api/v1/conversations/"+sc.bigConv+"/messages?limit=50", true) })
	})
	b.Run("api-all", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/api/v1/conversations/"+sc.bigConv+"/messages", true) })
	})
}
