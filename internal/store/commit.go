package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit (SQLite). SQLite has one writer at a time, and the cost of
// a write transaction is mostly its commit: with synchronous=FULL, an
// fsync of the write-ahead log. One goroutine, the committer, runs every
// transaction of the process: it takes whatever is queued, runs each in
// its own savepoint of one transaction, and commits them together, so that
// a burst of writes pays for one commit instead of queueing behind one
// commit each. Every caller still waits for its own commit before its
// InTx returns: nothing is acknowledged before it is on disk. A function
// that fails rolls back to its savepoint: its error reaches its caller
// only, and the others' writes commit. Transactions run in the order they
// were queued; InTxThen's after functions run in that order too, once the
// batch committed, which keeps events in the order of the rows.

// maxBatch bounds the transactions committed together, so that the first
// of a long queue does not wait for all of them.
const maxBatch = 256

// errClosed answers a transaction queued after the database was closed.
var errClosed = errors.New("database closed")

// txJob is one caller's transaction, queued for the committer.
type txJob struct {
	ctx    context.Context
	fn     func(tx *Store) error
	after  func()
	queued time.Time
	err    error
	panic  any // a panic of fn, raised again in the caller
	done   chan struct{}
}

// committer runs the transactions of a SQLite database.
type committer struct {
	db   *DB
	jobs chan *txJob
	quit chan struct{}
	wg   sync.WaitGroup
	// conn is the connection every batch runs on (nil until the first,
	// and after it broke). One connection keeps its page cache: SQLite
	// empties a connection's cache when another one wrote since its last
	// transaction, so batches spread over the pool read their pages from
	// the file again each time.
	conn *sql.Conn
	// checkpoints and indexes are told after each commit; see
	// checkpointer and indexLoop.
	checkpoints, indexes chan struct{}
	// tail is when the checkpointer copied the whole log it saw (unix
	// nanoseconds; 0: it did not since the writer's last finish): the
	// writer copies the rest; see finishCheckpoint.
	tail atomic.Int64
	// every is the least time between two checkpoints (nanoseconds) and
	// restartPages the log past which the writer starts it over; see
	// checkpoint.
	every, restartPages atomic.Int64
	// mu is held for reading while a job is queued, for writing to close:
	// no job enters the queue after the loop's last look at it.
	mu     sync.RWMutex
	closed bool
	// watch is told how long each batch and its transactions took.
	watch atomic.Pointer[WriterWatch]
}

// WriterWatch is told what SQLite's one writer spends: for each
// transaction, how long it waited for the writer (from its queueing to the
// start of its batch); for each batch, how many transactions it held and
// how long it took, from its start to its commit. Its functions must be
// quick: the writer calls them between batches.
type WriterWatch struct {
	Waited func(d time.Duration)
	Ran    func(transactions int, d time.Duration)
}

// WatchWriter makes w told of every batch of SQLite's writer from now on.
// It reports whether the database has such a writer (PostgreSQL does not:
// its transactions run side by side).
func (db *DB) WatchWriter(w WriterWatch) bool {
	if db.commits == nil {
		return false
	}
	db.commits.watch.Store(&w)
	return true
}

func newCommitter(db *DB) *committer {
	c := &committer{db: db, jobs: make(chan *txJob, maxBatch), quit: make(chan struct{}),
		checkpoints: make(chan struct{}, 1), indexes: make(chan struct{}, 1)}
	c.every.Store(int64(checkpointInterval))
	c.restartPages.Store(restartPages)
	c.wg.Add(3)
	go c.loop()
	go c.checkpointer()
	go c.indexLoop()
	return c
}

// run queues fn and waits for its outcome.
func (c *committer) run(ctx context.Context, fn func(tx *Store) error, after func()) error {
	j := &txJob{ctx: ctx, fn: fn, after: after, queued: time.Now(), done: make(chan struct{})}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.jobs <- j:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued, the job is waited for even when ctx ends: its writes
	// may commit, and the caller must not act as if they had not.
	<-j.done
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

// close stops the committer after the transactions already queued.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *committer) loop() {
	defer c.wg.Done()
	defer func() {
		if c.conn != nil {
			_ = c.conn.Close()
		}
	}()
	batch := make([]*txJob, 0, maxBatch)
	for {
		select {
		case j := <-c.jobs:
			batch = append(batch[:0], j)
		case <-c.quit:
			// Whatever is still queued runs before the database closes.
			for {
				select {
				case j := <-c.jobs:
					c.commit([]*txJob{j})
				default:
					return
				}
			}
		}
	more:
		for len(batch) < maxBatch {
			select {
			case j := <-c.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		c.commit(batch)
		clear(batch)
		if t := c.tail.Load(); t != 0 && (len(c.jobs) == 0 || time.Since(time.Unix(0, t)) > time.Duration(c.every.Load())) {
			c.finishCheckpoint()
		}
	}
}

// finishCheckpoint copies into the database file the little the
// checkpointer's last pass left in the write-ahead log: the commits made
// while it ran. SQLite starts the log over, writing its first pages
// again, only at a transaction that begins with the whole log copied; the
// checkpointer's pass alone never gets there while commits go on (each
// pass ends behind the commits made during it), and the log then grew by
// every page written, about 17 a reply, as long as writes went on (a
// gigabyte in 20 s at 1,000 replies a second), each page one more
// extending write and its filesystem journal entry. The writer does it
// between batches, on its own connection: no commit can come in between,
// so the log is whole copied, and the next commit starts it over. It costs
// the writer the copy of what was committed during the checkpointer's
// passes and two fsyncs, the log's and the database file's (10 to 16 ms
// on a virtual machine's disk, whatever the copy: the transactions queued
// meanwhile wait for them): it does it when nothing waits, or, when the
// writes never pause, once the checkpointer's interval passed.
func (c *committer) finishCheckpoint() {
	c.tail.Store(0)
	if c.conn == nil {
		return
	}
	c.db.writes.Lock()
	defer c.db.writes.Unlock()
	if _, err := c.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		slog.Warn("checkpoint the SQLite write-ahead log", "err", err)
	}
}

// commit runs a batch in one transaction and tells each caller.
func (c *committer) commit(batch []*txJob) {
	c.db.writes.Lock()
	start := time.Now()
	ok := c.runBatch(batch)
	c.db.writes.Unlock()
	if w := c.watch.Load(); w != nil {
		for _, j := range batch {
			w.Waited(start.Sub(j.queued))
		}
		w.Ran(len(batch), time.Since(start))
	}
	kick(c.checkpoints)
	c.kickIndexer()
	for i, j := range batch {
		if ok[i] && j.after != nil {
			j.after()
		}
		close(j.done)
	}
}

// runBatch returns, for each job, whether its writes committed; jobs that
// did not have their err set.
func (c *committer) runBatch(batch []*txJob) []bool {
	ok := make([]bool, len(batch))
	// Not the callers' contexts: one caller going away must not roll back
	// the others' transaction.
	ctx := context.Background()
	tx, err := c.begin(ctx)
	if err != nil {
		for _, j := range batch {
			j.err = fmt.Errorf("begin transaction: %w", err)
		}
		return ok
	}
	st := &Store{q: tx, tx: tx, dialect: c.db.dialect, stmts: c.db.stmts, detached: true, counts: c.db.counts, accounts: c.db.accounts}
	defer st.ended() // before the callers are told
	single := len(batch) == 1
	broken := error(nil) // the transaction itself failed: nothing of it can commit
	for i, j := range batch {
		if broken != nil {
			j.err = broken
			continue
		}
		if err := j.ctx.Err(); err != nil {
			j.err = err // gone before it started: nothing written
			continue
		}
		if !single {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT batch_item"); err != nil {
				broken = fmt.Errorf("begin savepoint: %w", err)
				j.err = broken
				continue
			}
		}
		err := callJob(j, st)
		if err == nil {
			if !single {
				if _, err := tx.ExecContext(ctx, "RELEASE batch_item"); err != nil {
					broken = fmt.Errorf("release savepoint: %w", err)
					j.err = broken
					continue
				}
			}
			ok[i] = true
			continue
		}
		j.err = err
		if single {
			_ = tx.Rollback()
			return ok
		}
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO batch_item"); rerr != nil {
			broken = fmt.Errorf("roll back a failed write of the same batch: %w", rerr)
			continue
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE batch_item"); rerr != nil {
			broken = fmt.Errorf("release savepoint: %w", rerr)
		}
	}
	if broken != nil {
		_ = tx.Rollback()
		for i, j := range batch {
			if ok[i] {
				ok[i], j.err = false, broken
			}
		}
		return ok
	}
	if err := tx.Commit(); err != nil {
		for i, j := range batch {
			if ok[i] {
				ok[i], j.err = false, fmt.Errorf("commit: %w", err)
			}
		}
		return ok
	}
	c.db.committed()
	return ok
}

// kick wakes a goroutine waiting on ch, unless it has been woken already.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// kickIndexer tells the indexer that messages may be waiting.
func (c *committer) kickIndexer() { kick(c.indexes) }

// begin starts a batch's transaction on the committer's connection,
// taking one from the pool (and setting it up) when there is none.
func (c *committer) begin(ctx context.Context) (*sql.Tx, error) {
	if c.conn == nil {
		conn, err := c.db.SQL.Conn(ctx)
		if err != nil {
			return nil, err
		}
		// Its cache keeps SQLite's default size (2 MiB): at 10,000 open
		// conversations 16 and 64 MiB gave the same reply latency and 1
		// and 3 KiB more server memory per open widget. Checkpoints are
		// the checkpointer's. The savepoints of a batch keep the pages
		// they change in a sub-journal, which SQLite moves to a temporary
		// file past 64 KiB (four transactions of a reply's pages), with
		// its system calls: in memory it is at most the batch's pages.
		// The log's file is cut back to logLimitRestarts times the
		// restart size when it starts over (see logLimitRestarts).
		limit := fmt.Sprintf("PRAGMA journal_size_limit = %d", logLimitRestarts*c.restartPages.Load()*pageSize)
		for _, q := range []string{"PRAGMA wal_autocheckpoint = 0", "PRAGMA temp_store = MEMORY", limit} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				_ = conn.Close()
				return nil, fmt.Errorf("set up the writer connection: %w", err)
			}
		}
		c.conn = conn
	}
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		// A broken connection is replaced at the next batch.
		_ = c.conn.Close()
		c.conn = nil
		return nil, err
	}
	return tx, nil
}

// checkpointInterval is the least time between two checkpoints while
// writes go on.
const checkpointInterval = time.Second

// checkpointer copies the write-ahead log into the database file, at most
// once a checkpointInterval while there are writes, on a connection of
// its own. SQLite would otherwise do it in the commit that crosses 1,000
// pages of log, and that commit (and every caller waiting for it) would
// wait for the copy and its fsyncs. A passive checkpoint does not block
// the writer nor the readers; the log's size is bounded by what is
// written in an interval.
func (c *committer) checkpointer() {
	defer c.wg.Done()
	ctx := context.Background()
	for {
		select {
		case <-c.checkpoints:
		case <-c.quit:
			return
		}
		c.checkpoint(ctx)
		select {
		case <-time.After(time.Duration(c.every.Load())):
		case <-c.quit:
			return
		}
	}
}

// checkpoint is one pass of the checkpointer: a passive checkpoint, and
// a second one at once (it copies what was committed during the first);
// when they copied the whole log they saw and the log has grown past
// restartPages, the writer copies the rest (finishCheckpoint) so that the
// log starts over. A smaller log starts over by itself whenever the
// writes pause for as long as a checkpoint.
func (c *committer) checkpoint(ctx context.Context) {
	var busy, logged, copied int
	for range 2 {
		err := c.db.SQL.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &copied)
		if err != nil {
			slog.Warn("checkpoint the SQLite write-ahead log", "err", err)
			return
		}
		if copied < logged || int64(logged) < c.restartPages.Load() {
			// A reader holds older pages (the writer could not copy
			// more), or the log is small enough to wait for a pause.
			return
		}
	}
	c.tail.CompareAndSwap(0, time.Now().UnixNano())
}

// restartPages is the size of the write-ahead log, in pages, past which
// the writer finishes the checkpointer's work to start the log over: 64
// MiB of 4 KiB pages, about a second of replies at a thousand a second
// (the log is found past it at the checkpointer's next pass, and started
// over after about two).
// Below it the writer is left alone: each finish costs it two fsyncs.
const restartPages = 16384

// logLimitRestarts bounds the file the write-ahead log leaves on disk, in
// restart sizes: 256 MiB. SQLite writes the log over from its start and
// never makes its file smaller: a log that grew while the checkpoints fell
// behind (a disk slowed by another process took it to 170 MiB in a test,
// a minute of it at a thousand replies a second would take gigabytes)
// would keep its largest size for good. Past the limit, the first commit
// after the log starts over cuts the file back. Under the limit, as
// between restarts at 1,500 replies a second (the file's largest size in
// such a run: 170 MiB), it is left whole: writing over a page is cheaper
// than extending the file.
const logLimitRestarts = 4

// pageSize is SQLite's page size, the default of the files Parley makes.
const pageSize = 4096

// callJob runs a job's function, turning a panic into an error for the
// batch and keeping it to raise again in the caller.
func callJob(j *txJob, st *Store) (err error) {
	defer func() {
		if v := recover(); v != nil {
			j.panic = v
			err = fmt.Errorf("transaction panicked: %v", v)
		}
	}()
	return j.fn(st)
}

// InTxThen is InTx with after, run once the transaction committed (not
// when it failed). On SQLite, the after functions of transactions run in
// the order the transactions did, so that what they publish keeps the
// order of the rows; after must be quick and must not write.
func (db *DB) InTxThen(ctx context.Context, fn func(tx *Store) error, after func()) error {
	if db.commits != nil {
		return db.commits.run(ctx, fn, after)
	}
	if err := db.inTx(ctx, fn); err != nil {
		return err
	}
	after()
	return nil
}

// withoutCancel keeps a statement of a batch from being interrupted by
// its caller's context: on SQLite an interrupted write rolls back the
// whole transaction, with the other callers' writes.
func (s *Store) withoutCancel(ctx context.Context) context.Context {
	if s.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}
