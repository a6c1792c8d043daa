package store_test

import (
	"slices"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/search"
	"github.com/parleychat/parley/internal/store"
)

// foundMessages runs a message search with the words of q.
func foundMessages(t *testing.T, db *store.DB, workspaceID, q string, limit int) []string {
	t.Helper()
	hits, err := db.SearchMessages(t.Context(), workspaceID, search.Words(q), limit)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	ids := []string{}
	for _, h := range hits {
		ids = append(ids, h.MessageID)
	}
	return ids
}

func TestSearchMessages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "A", base)
		other := newWorkspace(t, db, "B", base)
		c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		oc := newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base)

		cafe := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "Je voudrais un Café crème, s'il vous plaît.")
		refund := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "Your REFUND was sent; see https://shop.example.com/orders/42")
		note := newMessage(t, db, c, model.AuthorAgent, model.KindComment, "Internal: the café order is late")
		newMessage(t, db, c, model.AuthorSystem, model.KindEvent, "café event text is never searched")
		hostile := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, `He typed "NEAR(a b)" and col:x -y * (z`)
		newMessage(t, db, oc, model.AuthorVisitor, model.KindReply, "Café crème from another workspace")

		tests := []struct {
			q    string
			want []string
		}{
			{"cafe", []string{note.ID, cafe.ID}},
			{"CAFÉ", []string{note.ID, cafe.ID}},
			{"café crème", []string{cafe.ID}},
			{"creme cafe", []string{cafe.ID}},
			{"caf", []string{note.ID, cafe.ID}},         // the last word is a prefix
			{"caf creme", []string{}},                   // the others are whole words
			{"cafe zzz", []string{}},                    // every word must match
			{"refund", []string{refund.ID}},             // case
			{"shop example", []string{refund.ID}},       // words of a URL
			{"orders 42", []string{refund.ID}},          // numbers
			{"event", []string{}},                       // events are not searched
			{`"NEAR(a b)"`, []string{hostile.ID}},       // FTS syntax is literal
			{`col:x`, []string{hostile.ID}},             // column filters too
			{`-y (z`, []string{hostile.ID}},             // NOT, unbalanced
			{`" OR 1=1 --`, []string{}},                 // "OR" is a word to find
			{`cafe" OR "refund`, []string{}},            // quotes cannot join queries
			{`*`, nil},                                  // no word: not searched (below)
			{`c'est "la" vie AND OR NOT *`, []string{}}, // nothing matches, no error
		}
		for _, tt := range tests {
			if len(search.Words(tt.q)) == 0 {
				continue
			}
			check(t, "search "+tt.q, foundMessages(t, db, w.ID, tt.q, 20), tt.want)
		}
		check(t, "limit", foundMessages(t, db, w.ID, "cafe", 1), []string{note.ID})
		check(t, "other workspace", foundMessages(t, db, other.ID, "cafe", 20), foundMessages(t, db, other.ID, "creme", 20))
		if got := foundMessages(t, db, other.ID, "refund", 20); len(got) != 0 {
			t.Errorf("another workspace found %v", got)
		}
	})
}

func TestSearchFollowsWrites(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "A", base)
		v := newVisitor(t, db, w.ID, nil)
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		m := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "bonjour tout le monde")

		// A write that fails rolls the index back with it.
		err := db.InTx(ctx, func(tx *store.Store) error {
			if err := tx.CreateMessage(ctx, model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
				Author: model.Author{Kind: model.AuthorVisitor}, Kind: model.KindReply, Channel: model.MsgChannelWidget,
				Body: "rolled back zebra", CreatedAt: base}); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("transaction: %v", err)
		}
		check(t, "rolled back message", foundMessages(t, db, w.ID, "zebra", 20), []string{})

		// The visitor's name and email are found, and follow a change.
		v.Name, v.Email = new("Zoë Dupont"), new("zoe.dupont@example.com")
		if err := db.UpdateVisitorContact(ctx, v); err != nil {
			t.Fatal(err)
		}
		visitorConvs := func(q string) []string {
			hits, err := db.SearchVisitors(ctx, w.ID, search.Words(q), 20)
			if err != nil {
				t.Fatalf("search visitors %q: %v", q, err)
			}
			ids := []string{}
			for _, h := range hits {
				ids = append(ids, h.ConversationID)
			}
			return ids
		}
		check(t, "name without accent", visitorConvs("zoe"), []string{c.ID})
		check(t, "email", visitorConvs("zoe.dupont@example.com"), []string{c.ID})
		check(t, "email prefix", visitorConvs("dupont@exa"), []string{c.ID})
		v.Name, v.Email = new("Chloé Martin"), new("chloe@example.com")
		if err := db.UpdateVisitorContact(ctx, v); err != nil {
			t.Fatal(err)
		}
		check(t, "old name", visitorConvs("zoe dupont"), []string{})
		check(t, "new name", visitorConvs("chloe"), []string{c.ID})

		// A message removed leaves the index (retention, erasure).
		if _, err := db.SQL.ExecContext(ctx, db.Rebind(`DELETE FROM messages WHERE id = ?`), m.ID); err != nil {
			t.Fatal(err)
		}
		check(t, "deleted message", foundMessages(t, db, w.ID, "bonjour", 20), []string{})
	})
}

// TestSearchMigrationIndexesStoredRows stores rows without the search
// migration, applies it, and finds them. The rows are written with plain
// SQL and the columns of that time: the store's code may need later ones.
func TestSearchMigrationIndexesStoredRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.MigrateDownTo(ctx, 23); err != nil {
			t.Fatal(err)
		}
		w, v, c := model.NewID(), model.NewID(), model.NewID()
		older, newer := model.NewID(), model.NewID()
		now := base.UnixMicro()
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO workspaces (id, name, site_key, created_at) VALUES (?, 'A', ?, ?)`, []any{w, "site-" + w, now}},
			{`INSERT INTO visitors (id, workspace_id, email, created_at) VALUES (?, ?, 'anna.kowalska@example.pl', ?)`, []any{v, w, now}},
			{`INSERT INTO conversations (id, workspace_id, visitor_id, created_at, last_message_at) VALUES (?, ?, ?, ?, ?)`, []any{c, w, v, now, now}},
			{`INSERT INTO messages (id, workspace_id, conversation_id, author_kind, kind, channel, body, created_at) VALUES (?, ?, ?, 'visitor', 'reply', 'widget', 'Zażółć gęślą jaźń', ?)`, []any{older, w, c, now}},
			{`INSERT INTO messages (id, workspace_id, conversation_id, author_kind, kind, channel, body, created_at) VALUES (?, ?, ?, 'agent', 'comment', 'dashboard', 'gęślą again', ?)`, []any{newer, w, c, now}},
			{`INSERT INTO messages (id, workspace_id, conversation_id, author_kind, kind, channel, body, created_at) VALUES (?, ?, ?, 'system', 'event', 'widget', 'gęślą event', ?)`, []any{model.NewID(), w, c, now}},
		} {
			if _, err := db.SQL.ExecContext(ctx, db.Rebind(st.q), st.args...); err != nil {
				t.Fatalf("%s: %v", st.q, err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, "backfilled, newest first", foundMessages(t, db, w, "gesla", 20), []string{newer, older})
		check(t, "folded", foundMessages(t, db, w, "JAZN gesla", 20), []string{older})
		hits, err := db.SearchVisitors(ctx, w, []string{"kowalska"}, 20)
		if err != nil || len(hits) != 1 || hits[0].ConversationID != c {
			t.Fatalf("visitor backfill: %v, %v", hits, err)
		}
		// And the index keeps up after it.
		later := newMessage(t, db, model.Conversation{ID: c, WorkspaceID: w}, model.AuthorVisitor, model.KindReply, "gęślą once more")
		check(t, "after the migration", foundMessages(t, db, w, "gesl", 2), []string{later.ID, newer})
	})
}

var errRollback = errorString("roll back")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestSearchMessagesNewestFirst: with more matches than the limit, the
// newest come back in order, whether they are found among the newest
// messages or through the index only.
func TestSearchMessagesNewestFirst(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "A", base)
		c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		var apples []string
		for i := range 8 {
			apples = append(apples, newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "an apple a day").ID)
			if i%2 == 0 {
				newMessage(t, db, c, model.AuthorAgent, model.KindReply, "a pear")
			}
		}
		slices.Reverse(apples)
		check(t, "three newest", foundMessages(t, db, w.ID, "appl", 3), apples[:3])
		check(t, "all of them", foundMessages(t, db, w.ID, "apple day", 20), apples)
	})
}

// TestSearchWordsTheIndexCuts: words of scripts whose marks the SQLite
// index takes for separators (Devanagari vowel signs, Arabic vowel points)
// are found whole and by their start, as words of any other script.
func TestSearchWordsTheIndexCuts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "A", base)
		c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		hindi := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "नमस्ते, मेरा ऑर्डर कहाँ है?")
		arabic := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "مَرْحَبًا بِكُم")
		tests := []struct {
			q    string
			want []string
		}{
			{"नमस्ते", []string{hindi.ID}},
			{"ऑर्डर नमस", []string{hindi.ID}}, // the start of a word
			{"नमस्ते पिज़्ज़ा", []string{}},   // every word must match
			{"مَرْحَبًا", []string{arabic.ID}},
			{"بِكُم مَرْحَبًا", []string{arabic.ID}},
		}
		for _, tt := range tests {
			check(t, "search "+tt.q, foundMessages(t, db, w.ID, tt.q, 20), tt.want)
		}
	})
}

// PostgreSQL's visitor search filters a workspace's visitors by their
// workspace's index beside the search vector's, which covers every
// workspace: without it a small workspace's search read every visitor
// (a parallel scan of the table). SQLite's search starts from its
// full-text table and has no such index.
func TestVisitorSearchKeepsTheWorkspaceIndexOnPostgres(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	var n int
	err := db.SQL.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'visitors' AND indexname = 'visitors_workspace'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Error("visitors_workspace is gone from PostgreSQL")
	}
}
