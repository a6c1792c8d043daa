package store

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/search"
)

// TestFTSSeparators checks ftsSeparators against SQLite's tokenizer, rune
// by rune: of the runes a search word keeps, the table must hold exactly
// those the index cuts a word at. Were it wrong, a word holding such a
// rune would be a phrase, refused by the index, or would not be found.
func TestFTSSeparators(t *testing.T) {
	ctx := t.Context()
	db := openSQLite(t)
	if _, err := db.SQL.ExecContext(ctx, `CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.ExecContext(ctx, `CREATE VIRTUAL TABLE t_tokens USING fts5vocab(t, instance)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	kept := 0
	// Planes 15 and 16 are private use only, treated alike by both sides.
	for r := rune(0x80); r < 0xF0000; r++ {
		if !utf8.ValidRune(r) || len(search.Words("a"+string(r)+"b")) != 1 {
			continue // a separator for search too, or no rune
		}
		kept++
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (rowid, body) VALUES (?, ?)`, int64(r), "a"+string(r)+"b"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT doc FROM t_tokens GROUP BY doc HAVING COUNT(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	cut := map[rune]bool{}
	for rows.Next() {
		var r int64
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		cut[rune(r)] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if kept < 100_000 || len(cut) == 0 {
		t.Fatalf("checked %d runes, %d cut: the check itself is broken", kept, len(cut))
	}
	for r := rune(0x80); r < 0xF0000; r++ {
		if !utf8.ValidRune(r) || len(search.Words("a"+string(r)+"b")) != 1 {
			continue
		}
		if in := unicode.Is(ftsSeparators, r); in != cut[r] {
			t.Errorf("U+%04X: in ftsSeparators %v, cut by the tokenizer %v", r, in, cut[r])
		}
	}
}
