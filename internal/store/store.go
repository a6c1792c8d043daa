// Package store keeps Parley's data in SQL: SQLite (embedded default) or
// PostgreSQL. Statements are written once with '?' placeholders and rewritten
// for PostgreSQL; times are stored as microseconds since the epoch.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // pure-Go SQLite driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a row does not exist (or is not visible in
// the caller's workspace).
var ErrNotFound = errors.New("not found")

// Dialect names the SQL flavour of a database.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota
	Postgres
)

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store runs statements on a database or inside a transaction.
type Store struct {
	q       querier
	dialect Dialect
	// writes serialises SQLite's writers in the process (nil on PostgreSQL,
	// and inside a transaction, which holds it already): waiting on a Go
	// mutex hands over at once, where SQLite's busy handler sleeps for
	// milliseconds at a time.
	writes *sync.Mutex
	// stmts caches prepared statements (SQLite); tx is the transaction q
	// is, if any.
	stmts *stmtCache
	tx    *sql.Tx
	// commits runs the writes of a SQLite database (nil on PostgreSQL and
	// inside a transaction); detached marks a store of the committer's
	// batch, whose statements ignore their callers' cancellation.
	commits  *committer
	detached bool
	// counts is what the database ran (nil: not counted).
	counts *Counts
	// accounts counts the commits that wrote workspaces, agents or agents'
	// tokens (see AccountsGeneration); accountsWritten marks a transaction
	// that did.
	accounts        *atomic.Uint64
	accountsWritten bool
}

// Counts are the statements and the commits a database ran since it was
// opened, in this process: the cost of a request in database work, which
// unlike its time does not depend on the machine.
type Counts struct {
	statements, commits atomic.Int64
}

// Counts returns the statements and commits run so far.
func (db *DB) Counts() (statements, commits int64) {
	return db.counts.statements.Load(), db.counts.commits.Load()
}

// ran counts the statement q, and its commit when it is a write outside a
// transaction (PostgreSQL commits it alone; SQLite's writes all run in the
// committer's transactions).
func (s *Store) ran(q string) {
	if s.counts == nil {
		return
	}
	s.counts.statements.Add(1)
	if s.tx == nil && isWrite(q) {
		s.counts.commits.Add(1)
	}
}

// committed counts a commit.
func (s *Store) committed() {
	if s.counts != nil {
		s.counts.commits.Add(1)
	}
}

// AccountsGeneration changes after every commit, in this process, that
// wrote a workspace (its settings, its agents' availability), an agent or
// an agent's token: what was read of them before may be kept while it
// stays the same. Writes by another process (a command, another node) do
// not change it.
func (db *DB) AccountsGeneration() uint64 { return db.accounts.Load() }

// wrote notes a statement that ran: one that writes the accounts changes
// AccountsGeneration once it committed (alone, it has; in a transaction,
// see ended). Every such write is an exec; a write returning rows outside
// a transaction (PostgreSQL) would be noted as it starts.
func (s *Store) wrote(q string) {
	if s.accounts == nil || !writesAccounts(q) {
		return
	}
	if s.tx != nil {
		s.accountsWritten = true
		return
	}
	s.accounts.Add(1)
}

// ended is told that the transaction of s committed or rolled back.
func (s *Store) ended() {
	if s.accountsWritten {
		s.accounts.Add(1)
	}
}

// writesAccounts reports whether q writes a workspace, an agent or an
// agent's token: whether the table it writes is one of theirs. Their rows
// change through no other table's statement (no trigger writes them, and
// deleting a workspace or an agent, which removes what depends on it,
// names it). A statement of a form writtenTable does not parse (a WITH, a
// quoted name, a comment first) counts when it may write and names one of
// them: a form added later errs towards a read too many, never a stale
// token.
func writesAccounts(q string) bool {
	switch writtenTable(q) {
	case "workspaces", "agents", "agent_tokens":
		return true
	case "":
		return !isRead(q) && namesAccounts(q) && mayWrite(q)
	}
	return false
}

func namesAccounts(q string) bool {
	return strings.Contains(q, "agents") || strings.Contains(q, "agent_tokens") || strings.Contains(q, "workspaces")
}

// isRead reports whether q is a SELECT, which writes nothing.
func isRead(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// mayWrite reports whether a word of q is a keyword that writes.
func mayWrite(q string) bool {
	for _, w := range strings.FieldsFunc(q, notInWord) {
		for _, kw := range []string{"INSERT", "UPDATE", "DELETE", "REPLACE"} {
			if strings.EqualFold(w, kw) {
				return true
			}
		}
	}
	return false
}

// notInWord reports whether r ends a word of SQL (a keyword or a name).
func notInWord(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// writtenTable is the table q writes: the one after INSERT [OR ...] INTO,
// UPDATE [OR ...] [ONLY] or DELETE FROM [ONLY], without its schema ("" for
// any other statement). A table named elsewhere in q (a subquery, a
// RETURNING) is only read.
func writtenTable(q string) string {
	word := func() string {
		q = strings.TrimLeft(q, " \t\r\n")
		end := strings.IndexFunc(q, notInWord)
		if end < 0 {
			end = len(q)
		}
		w := q[:end]
		q = q[end:]
		return w
	}
	// skip reads the next word if it is kw, and leaves q as it was if not.
	skip := func(kw string) bool {
		rest := q
		if strings.EqualFold(word(), kw) {
			return true
		}
		q = rest
		return false
	}
	switch verb := word(); {
	case strings.EqualFold(verb, "INSERT"):
		if skip("OR") {
			word() // REPLACE, IGNORE, ...
		}
		if !skip("INTO") {
			return ""
		}
	case strings.EqualFold(verb, "UPDATE"):
		if skip("OR") {
			word()
		}
		skip("ONLY")
	case strings.EqualFold(verb, "DELETE"):
		if !skip("FROM") {
			return ""
		}
		skip("ONLY")
	default:
		return ""
	}
	table := word()
	if strings.HasPrefix(q, ".") { // schema.table
		q = q[1:]
		table = word()
	}
	return strings.ToLower(table)
}

// DB is an open database.
type DB struct {
	Store
	SQL  *sql.DB
	path string // the SQLite file ("" on PostgreSQL)
}

// Open opens the database named by url ("sqlite:PATH" or "postgres://...").
// SQLite files are created with their directory; migrations are not applied
// (see Migrate).
func Open(ctx context.Context, url string) (*DB, error) {
	var (
		db      *sql.DB
		err     error
		dialect Dialect
		path    string
	)
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path, _ = SQLiteFile(url)
		if path == "" {
			return nil, fmt.Errorf("open database: empty sqlite path in %q", url)
		}
		if err := makeDir(path); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		if err := createPrivate(path); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		if err == nil {
			// One writer at a time is SQLite's rule; a small pool lets
			// readers proceed under WAL.
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
		}
		dialect = SQLite
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		conns := 20
		if url, conns, err = poolSize(url, conns); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		db, err = sql.Open("pgx", url)
		if err == nil {
			// Keep every connection: database/sql keeps only two idle by
			// default, and under load the others were closed and opened
			// again (a new server process each) between statements.
			db.SetMaxOpenConns(conns)
			db.SetMaxIdleConns(conns)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
		dialect = Postgres
	default:
		return nil, fmt.Errorf("open database: unsupported PARLEY_DATABASE_URL %q (want sqlite:PATH or postgres://...)", url)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ping(pctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	st := Store{q: db, dialect: dialect, counts: &Counts{}, accounts: &atomic.Uint64{}}
	if dialect == SQLite {
		st.writes = &sync.Mutex{}
		st.stmts = newStmtCache(db)
	}
	d := &DB{Store: st, SQL: db, path: path}
	if dialect == SQLite {
		d.commits = newCommitter(d)
	}
	return d, nil
}

// ping waits for the database to answer. Two processes opening a new
// SQLite file at once can be told SQLITE_BUSY while one turns it to WAL,
// a moment SQLite's busy timeout does not cover: that is tried again
// until ctx ends.
func ping(ctx context.Context, db *sql.DB) error {
	for {
		err := db.PingContext(ctx)
		var coded interface{ Code() int }
		if err == nil || !errors.As(err, &coded) || coded.Code()&0xff != sqliteBusy {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sqliteBusy is SQLITE_BUSY, the primary code of SQLite's "database is
// locked" (extended codes keep it in their low byte).
const sqliteBusy = 5

// SQLiteFile is the file of a "sqlite:PATH" database URL; false for
// another URL.
func SQLiteFile(url string) (string, bool) {
	if !strings.HasPrefix(url, "sqlite:") {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//"), true
}

// makeDir creates the directory of a SQLite file, if need be.
func makeDir(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	return nil
}

// ErrServed is a SQLite database another process already serves.
var ErrServed = errors.New("another parley serve is running on this SQLite database (a SQLite file is served by one process; run several nodes on PostgreSQL)")

// Dialect reports the database's SQL flavour.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database.
func (db *DB) Close() error {
	if db.commits != nil {
		db.commits.close()
	}
	if db.stmts != nil {
		db.stmts.close()
	}
	return db.SQL.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Migrate applies the embedded migrations that have not run yet.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator(ctx, true)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current, target, err := db.schemaVersions(ctx, p); err != nil {
		return fmt.Errorf("migrate: %w", err)
	} else if current > target {
		return schemaNewer(current, target)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if db.commits != nil {
		// Messages left waiting for the search index by an earlier run.
		db.commits.kickIndexer()
	}
	return nil
}

// ErrSchemaNewer refuses a database migrated by a newer build: this
// build's statements may not fit its tables.
var ErrSchemaNewer = errors.New("database schema newer than this build")

// poolSize takes pgxpool's pool_max_conns from a PostgreSQL URL, the
// parameter an operator reaches for first, which the server would refuse
// as a setting: the size of the node's pool (def when absent), and the
// URL without it.
func poolSize(raw string, def int) (string, int, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw, def, nil // pgx says what is wrong with it
	}
	q := u.Query()
	v, ok := q["pool_max_conns"]
	if !ok {
		return raw, def, nil
	}
	n, err := strconv.Atoi(v[len(v)-1])
	if err != nil || n < 1 || n > 1000 {
		return raw, def, fmt.Errorf("pool_max_conns=%q in PARLEY_DATABASE_URL is not a number of connections from 1 to 1000", v[len(v)-1])
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// InTx runs fn in a transaction, committing when it returns nil. On
// SQLite the transaction may commit together with others (commit.go); it
// has committed when InTx returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if db.commits != nil {
		return db.commits.run(ctx, fn, nil)
	}
	return db.inTx(ctx, fn)
}

func (db *DB) inTx(ctx context.Context, fn func(tx *Store) error) error {
	if db.writes != nil {
		db.writes.Lock()
		defer db.writes.Unlock()
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback() // fn failed or panicked
		}
	}()
	st := &Store{q: tx, tx: tx, dialect: db.dialect, stmts: db.stmts, counts: db.counts, accounts: db.accounts}
	defer st.ended()
	if err := fn(st); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	db.committed()
	return nil
}

// rebind rewrites '?' placeholders as $1, $2... for PostgreSQL.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// alone runs one write of s's database (not of a transaction) through
// the committer, where it commits with the others queued.
func alone[T any](ctx context.Context, c *committer, write func(tx *Store) (T, error)) (T, error) {
	var out T
	err := c.run(ctx, func(tx *Store) error {
		var err error
		out, err = write(tx)
		return err
	}, nil)
	return out, err
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.commits != nil {
		return alone(ctx, s.commits, func(tx *Store) (sql.Result, error) { return tx.exec(ctx, q, args...) })
	}
	ctx = s.withoutCancel(ctx)
	if s.writes != nil {
		s.writes.Lock()
		defer s.writes.Unlock()
	}
	s.ran(q)
	defer s.wrote(q)
	if st := s.prepared(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.q.ExecContext(ctx, s.rebind(q), args...)
}

// query runs a statement that returns rows. A write (UPDATE ... RETURNING)
// takes the writers' mutex to start; SQLite's own lock covers the rest of
// it while its rows are read.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = s.withoutCancel(ctx)
	if s.writes != nil && isWrite(q) {
		s.writes.Lock()
		defer s.writes.Unlock()
	}
	s.ran(q)
	defer s.wrote(q)
	if st := s.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.q.QueryContext(ctx, s.rebind(q), args...)
}

func isWrite(q string) bool {
	q = strings.TrimSpace(q)
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "UPDATE", "DELETE", "INSERT":
		return true
	}
	return false
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = s.withoutCancel(ctx)
	s.ran(q)
	defer s.wrote(q)
	if st := s.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.q.QueryRowContext(ctx, s.rebind(q), args...)
}

// micros converts a time to the stored form.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// nullMicros converts an optional time to the stored form.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GetMeta returns a value of the meta table, or "" when it is unset.
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get meta %s: %w", key, err)
	}
	return v, nil
}

// SetMetaIfAbsent stores value under key unless the key exists, and returns
// the stored value (so concurrent first starts agree on one).
func (s *Store) SetMetaIfAbsent(ctx context.Context, key, value string) (string, error) {
	if _, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return "", fmt.Errorf("set meta %s: %w", key, err)
	}
	return s.GetMeta(ctx, key)
}

// EraseMeta deletes a key of the meta table so that its value is gone
// from the database file too: on SQLite the freed page is zeroed
// (secure_delete) and the write-ahead log checkpointed and truncated.
func (db *DB) EraseMeta(ctx context.Context, key string) error {
	if db.dialect != SQLite {
		if _, err := db.exec(ctx, `DELETE FROM meta WHERE key = ?`, key); err != nil {
			return fmt.Errorf("erase meta %s: %w", key, err)
		}
		return nil
	}
	db.writes.Lock()
	defer db.writes.Unlock()
	c, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("erase meta %s: %w", key, err)
	}
	defer c.Close()
	for _, q := range []string{`PRAGMA secure_delete = ON`, `DELETE FROM meta WHERE key = '` + strings.ReplaceAll(key, "'", "''") + `'`, `PRAGMA secure_delete = OFF`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("erase meta %s: %s: %w", key, q, err)
		}
	}
	return nil
}

// createPrivate creates the SQLite file readable by its owner only (its
// -wal and -shm files take the same mode), and takes group and other
// access away from an existing one: it holds tokens, addresses and
// conversations.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if p != path {
			if st, err = os.Stat(p); err != nil {
				continue
			}
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// SetMeta stores value under key, replacing what was there.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	if _, err := s.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("set meta %s: %w", key, err)
	}
	return nil
}
