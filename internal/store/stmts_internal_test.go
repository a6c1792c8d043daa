package store

import (
	"errors"
	"fmt"
	"testing"
)

// Cached statements give the same answers as texts run directly, inside
// transactions (committed or rolled back) and outside, and past the
// cache's bound.
func TestStatementCache(t *testing.T) {
	defer func(n int) { maxCachedStmts = n }(maxCachedStmts)
	maxCachedStmts = 8
	ctx := t.Context()
	db := openSQLite(t)
	if _, err := db.exec(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for k := range 20 { // 20 texts: more than the cache keeps
			q := fmt.Sprintf(`INSERT INTO t (k, v) VALUES (? + %d, ?)`, k*1000)
			if _, err := db.exec(ctx, q, round, "x"); err != nil {
				t.Fatalf("round %d, text %d: %v", round, k, err)
			}
		}
	}
	if n := len(db.stmts.m); n != maxCachedStmts {
		t.Errorf("%d statements cached, want the bound %d", n, maxCachedStmts)
	}
	count := func(s *Store) int {
		var n int
		if err := s.queryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(&db.Store); got != 60 {
		t.Fatalf("%d rows, want 60", got)
	}
	rollback := errors.New("roll back")
	err := db.InTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `INSERT INTO t (k, v) VALUES (? + 0, ?)`, 99, "y"); err != nil {
			return err
		}
		if got := count(tx); got != 61 {
			t.Errorf("inside the transaction: %d rows, want 61", got)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if got := count(&db.Store); got != 60 {
		t.Errorf("after the rollback: %d rows, want 60", got)
	}
	err = db.InTx(ctx, func(tx *Store) error {
		_, err := tx.exec(ctx, `INSERT INTO t (k, v) VALUES (? + 0, ?)`, 99, "y")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The statement outlives the transaction that used it.
	if _, err := db.exec(ctx, `INSERT INTO t (k, v) VALUES (? + 0, ?)`, 98, "z"); err != nil {
		t.Fatal(err)
	}
	if got := count(&db.Store); got != 62 {
		t.Errorf("after the commit: %d rows, want 62", got)
	}
}

// IN lists are cut into chunks of a few lengths, every id kept once and in
// order, the padding a copy of the chunk's last id.
func TestPaddedChunks(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint("v", i)
		}
		return out
	}
	tests := []struct {
		n         int
		wantSizes []int
	}{
		{0, nil},
		{1, []int{1}},
		{2, []int{8}},
		{8, []int{8}},
		{9, []int{64}},
		{64, []int{64}},
		{65, []int{64, 1}},
		{130, []int{64, 64, 8}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			in := ids(tt.n)
			chunks := paddedChunks(in)
			var sizes []int
			var kept []string
			for _, c := range chunks {
				sizes = append(sizes, len(c))
				seen := map[string]bool{}
				for i, id := range c {
					if !seen[id] {
						kept = append(kept, id)
						seen[id] = true
					} else if id != c[i-1] {
						t.Fatalf("chunk %v: padding %q is not a copy of the last id", c, id)
					}
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantSizes) {
				t.Errorf("chunk sizes %v, want %v", sizes, tt.wantSizes)
			}
			if fmt.Sprint(kept) != fmt.Sprint(in) && len(in) > 0 {
				t.Errorf("ids kept %v, want %v", kept, in)
			}
		})
	}
}
