package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps SQLite's statements prepared, by SQL text. Parsing a
// statement took about a third of the server's CPU under load (modernc's
// driver prepares every statement it is given afresh). database/sql
// prepares a cached statement once per pooled connection.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache: a statement built with a variable
// number of placeholders has a text for each length.
var maxCachedStmts = 512

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for q, or nil when it is not cached
// and the cache is full (or preparing failed: running the text directly
// then reports the error).
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	st, full := c.m[q], len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if st != nil || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[q]; old != nil {
		_ = st.Close()
		return old
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// prepared returns q as a statement of this store (bound to its
// transaction, if any), or nil to run the text directly.
func (s *Store) prepared(ctx context.Context, q string) *sql.Stmt {
	if s.stmts == nil {
		return nil
	}
	st := s.stmts.get(ctx, q)
	if st == nil || s.tx == nil {
		return st
	}
	return s.tx.StmtContext(ctx, st)
}
