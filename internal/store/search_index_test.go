package store_test

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// waitFor polls cond until it holds, failing the test after a generous
// deadline: what it waits for happens in the background, not at a time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMessagesIndexedInTheBackground: on SQLite a message is indexed after
// its transaction, without a search asking for it.
func TestMessagesIndexedInTheBackground(t *testing.T) {
	db := openSQLite(t)
	ctx := t.Context()
	w := newWorkspace(t, db, "A", base)
	c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
	var ids []string
	for _, body := range []string{"first words", "second words", "third words"} {
		ids = append(ids, newMessage(t, db, c, model.AuthorAgent, model.KindReply, body).ID)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := db.SQL.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	waitFor(t, "messages indexed", func() bool { return count(`SELECT COUNT(*) FROM search_pending`) == 0 })
	for _, id := range ids {
		check(t, "indexed "+id, count(`SELECT COUNT(*) FROM search_docs WHERE message_id = ?`, id), 1)
	}
	check(t, "index rows", count(`SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'words'`), 3)
	// A backlog larger than one indexing transaction goes in several.
	err := db.InTx(ctx, func(tx *store.Store) error {
		for i := range 250 {
			m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
				Author: model.Author{Kind: model.AuthorVisitor}, Kind: model.KindReply, Channel: model.MsgChannelWidget,
				Body: fmt.Sprint("backlog ", i), CreatedAt: base}
			if err := tx.CreateMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "backlog found", len(foundMessages(t, db, w.ID, "backlog", 1000)), 250)
	check(t, "nothing left pending", count(`SELECT COUNT(*) FROM search_pending`), 0)
	// Events are not searched: they wait for nothing.
	newMessage(t, db, c, model.AuthorSystem, model.KindEvent, "conversation closed")
	check(t, "event pending", count(`SELECT COUNT(*) FROM search_pending`), 0)
}

// TestSearchFindsWhatWasJustWritten: a search right after a write finds
// it, however soon (the pending messages are indexed first).
func TestSearchFindsWhatWasJustWritten(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "A", base)
		c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		for i := range 50 {
			m := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "parcel number "+string(rune('a'+i%26))+"xq")
			check(t, "found at once", foundMessages(t, db, w.ID, "parcel", 1), []string{m.ID})
		}
	})
}

// TestWriteAheadLogCheckpointed: the writer does not checkpoint in its
// commits (SQLite's automatic checkpoint is off on its connection), yet
// the database file receives the writes: the checkpointer copies them.
func TestWriteAheadLogCheckpointed(t *testing.T) {
	db := openSQLite(t)
	path := db.File()
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	// Whatever the migrations left in the log is copied first.
	time.Sleep(100 * time.Millisecond)
	before := size()
	w := newWorkspace(t, db, "A", base)
	c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
	body := string(make([]byte, 2000))
	for range 300 {
		newMessage(t, db, c, model.AuthorAgent, model.KindComment, "x"+body)
	}
	waitFor(t, "database file grown by the checkpoints", func() bool { return size() > before+300*2000 })
}

// TestWriteAheadLogStartsOver: under writes that never pause, the log
// stays near the size past which the writer starts it over, instead of
// growing by every page written (a checkpoint that runs beside the writes
// always ends behind them, and SQLite starts the log over only at a
// transaction that begins with all of it copied), with one writer or
// eight at once.
func TestWriteAheadLogStartsOver(t *testing.T) {
	for _, writers := range []int{1, 8} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			db := openSQLite(t)
			db.SetCheckpointing(5*time.Millisecond, 200)
			ctx := t.Context()
			path := db.File()
			w := newWorkspace(t, db, "A", base)
			// Each message writes about ten pages of log: 8,000 of
			// them write 320 MiB.
			body := string(make([]byte, 2000))
			var wg sync.WaitGroup
			for range writers {
				c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
				wg.Go(func() {
					for range 8000 / writers {
						m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
							Author: model.Author{Kind: model.AuthorSystem}, Kind: model.KindComment,
							Channel: model.MsgChannelDashboard, Body: "x" + body, CreatedAt: base}
						if err := db.CreateMessage(ctx, m); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			restarts, size := walRestarts(t, path+"-wal")
			// How large the log grew depends on the disk: it is what
			// was written during a checkpointer's pass and its
			// interval, 10 to 20 MiB here, 35 to 170 MiB while another
			// process fills the disk's queue. That it started over,
			// while the writes never paused, does not: without the
			// writer's finish of the checkpoint it never does.
			t.Logf("the log started over %d times and grew to %d bytes", restarts, size)
			if restarts < 3 {
				t.Errorf("the write-ahead log started over %d times while 320 MiB were written (grew to %d bytes)", restarts, size)
			}
		})
	}
}

// walRestarts reads a SQLite write-ahead log's header: its checkpoint
// sequence number, which SQLite adds one to each time the log starts over
// (https://www.sqlite.org/fileformat.html#wal_file_format), and the file's
// size.
func walRestarts(t *testing.T, path string) (uint32, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr [32]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		t.Fatalf("read the write-ahead log's header: %v", err)
	}
	if magic := binary.BigEndian.Uint32(hdr[0:]); magic&^1 != 0x377f0682 {
		t.Fatalf("not a write-ahead log: magic %#x", magic)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(hdr[12:]), st.Size()
}

// A write-ahead log that grew while it could not start over (here: the
// writer's finish of the checkpoint held off) has its file cut back when
// it does start over, to four times its restart size.
func TestWriteAheadLogCutBackAfterASpike(t *testing.T) {
	db := openSQLite(t)
	// 200 pages: the writer's connection, made at the first write, cuts
	// the log's file back to 800 pages (3.2 MiB).
	db.SetCheckpointing(5*time.Millisecond, 200)
	ctx := t.Context()
	path := db.File() + "-wal"
	w := newWorkspace(t, db, "A", base)
	c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
	body := "x" + string(make([]byte, 2000))
	write := func(n int) {
		t.Helper()
		for range n {
			m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
				Author: model.Author{Kind: model.AuthorSystem}, Kind: model.KindComment,
				Channel: model.MsgChannelDashboard, Body: body, CreatedAt: base}
			if err := db.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.SetCheckpointing(5*time.Millisecond, 1<<40)
	// A reader holding its snapshot keeps the log from starting over, as a
	// long read does in a spike: it grows, whatever the checkpointer's pace.
	reader, err := db.SQL.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	write(1500) // about 60 MiB of log
	before, spike := walRestarts(t, path)
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	if spike < 32<<20 {
		t.Fatalf("the log grew to %d bytes only: no spike to cut back", spike)
	}
	db.SetCheckpointing(5*time.Millisecond, 200)
	deadline := time.Now().Add(20 * time.Second)
	for {
		write(20)
		restarts, size := walRestarts(t, path)
		if restarts > before && size <= 8<<20 {
			t.Logf("the log's file went from %d to %d bytes", spike, size)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log's file is %d bytes after a spike to %d (%d restarts since)", size, spike, restarts-before)
		}
	}
}

// A visitor with neither a name nor an email is found by the label the
// dashboard gives them, the last four characters of their id, in their
// workspace only; a visitor with an email, who is shown by it, is not.
func TestSearchVisitorLabel(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		a, b := newWorkspace(t, db, "A", base), newWorkspace(t, db, "B", base)
		email := "vera@example.com"
		anon, named, other := newVisitor(t, db, a.ID, nil), newVisitor(t, db, a.ID, &email), newVisitor(t, db, b.ID, nil)
		conv := newConversation(t, db, anon, model.ChannelWebsite, base)
		newConversation(t, db, named, model.ChannelWebsite, base)
		newConversation(t, db, other, model.ChannelWebsite, base)
		suffix := func(v model.Visitor) string { return v.ID[len(v.ID)-4:] }
		hits, err := db.SearchVisitorLabel(ctx, a.ID, suffix(anon), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].ConversationID != conv.ID || hits[0].Text != "Visitor "+suffix(anon) {
			t.Errorf("the anonymous visitor's label found %+v", hits)
		}
		for what, v := range map[string]model.Visitor{"a visitor shown by their email": named, "another workspace's visitor": other} {
			if suffix(v) == suffix(anon) {
				continue // the same four characters by chance
			}
			hits, err := db.SearchVisitorLabel(ctx, a.ID, suffix(v), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 0 {
				t.Errorf("%s found by label: %+v", what, hits)
			}
		}
	})
}
