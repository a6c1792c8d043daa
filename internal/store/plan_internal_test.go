package store

import (
	"strings"
	"testing"
)

// Reading conversations by id looks each one up by its key, whatever
// the workspace holds and without statistics (SQLite had walked the
// workspace's index instead, every conversation for each chunk of ids).
func TestConversationsByIDLooksUpIDs(t *testing.T) {
	db := openMigrated(t)
	args := make([]any, 64)
	for i := range args {
		args[i] = "id"
	}
	plan := queryPlan(t, db, conversationsByIDQuery(len(args)), args...)
	if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH c USING INDEX sqlite_autoindex_conversations_1 (id=?)") {
		t.Errorf("plan:\n%s\nwant the conversations searched by id first", strings.Join(plan, "\n"))
	}
}

// Which conversations of a list wait for an answer is one lookup by id
// each, without statistics (SQLite had walked the workspace's
// conversations_unread index, looking for an answer in every one of them),
// and the replies left unsent to Messenger and Instagram are read from
// those conversations (SQLite had read every message to spare a sort).
func TestListAndStartQueriesStartFromTheirRows(t *testing.T) {
	db := openMigrated(t)
	ids := make([]any, 50)
	for i := range ids {
		ids[i] = "id"
	}
	for _, tt := range []struct {
		name, q string
		args    []any
		want    string
	}{
		{"waiting", waitingQuery(len(ids)), ids, "SEARCH c USING INDEX sqlite_autoindex_conversations_1 (id=?)"},
		{"unsent channel replies", unsentChannelRepliesQuery, []any{0}, "SCAN c USING INDEX conversations_channel_person"},
		// Not the workspace's conversations_unread, closed ones included.
		{"waiting for assignment", waitingUnassignedQuery, []any{"ws", 50}, "SEARCH c USING INDEX conversations_waiting (workspace_id=? AND visitor_message_id>?)"},
	} {
		plan := queryPlan(t, db, tt.q, tt.args...)
		if len(plan) == 0 || !strings.HasPrefix(plan[0], tt.want) {
			t.Errorf("%s: plan:\n%s\nwant it to start with %q", tt.name, strings.Join(plan, "\n"), tt.want)
		}
	}
}

// The dashboard's counts read one index alone, for each status, without
// statistics; the list's pages still walk the index of activity, newest
// first, whatever the filter (the counts' index must not take its place).
func TestCountsReadTheirIndexAlone(t *testing.T) {
	db := openMigrated(t)
	for _, status := range []string{"open", "closed", "all"} {
		fq, fargs := ConversationFilter{Status: status}.where("ws")
		plan := strings.Join(queryPlan(t, db, countConversationsQuery("c.", fq), append([]any{"agent", "ws"}, fargs...)...), "\n")
		if !strings.Contains(plan, "COVERING INDEX conversations_counts") {
			t.Errorf("counts of %s: plan:\n%s\nwant the index conversations_counts alone", status, plan)
		}
	}
	for _, f := range []ConversationFilter{{Status: "open"}, {Status: "open", Assignee: "agent"}, {Status: "all", Assignee: "none"}, {Status: "closed", Assignee: "agent"},
		{Status: "open", Tag: "billing"}, {Status: "all", Assignee: "agent", Tag: "billing"}} {
		fq, fargs := f.where("ws")
		q := `SELECT c.id FROM conversations c WHERE c.workspace_id = ? AND c.activity_id <= ?` + fq + ` ORDER BY c.activity_id DESC LIMIT 50`
		plan := strings.Join(queryPlan(t, db, q, append([]any{"ws", "snapshot"}, fargs...)...), "\n")
		if !strings.Contains(plan, "INDEX conversations_activity") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("page of %+v: plan:\n%s\nwant the index conversations_activity walked in order", f, plan)
		}
	}
}

// A tag few conversations have is listed from its conversations, not by
// walking every conversation of the workspace in the index of activity;
// its counts too, rather than the whole index of counts.
func TestRareTagReadFromItsConversations(t *testing.T) {
	db := openMigrated(t)
	fq, fargs := ConversationFilter{Status: "open", Tag: "billing"}.where("ws")
	args := append([]any{"ws", "snapshot"}, fargs...)
	args = append(args, 50, "snapshot", "ws", "snapshot", "snapshot")
	args = append(args, fargs...)
	args = append(args, 50)
	for _, tt := range []struct {
		col, want string
	}{
		{"c.", "SEARCH c USING INDEX conversations_activity (workspace_id=? AND activity_id<?)"},
		{"+c.", "SEARCH c USING INDEX sqlite_autoindex_conversations_1 (id=?)"},
	} {
		plan := queryPlan(t, db, conversationPageQuery(tt.col, fq, false), args...)
		first := "" // how the conversations not moved since the snapshot are read
		for _, l := range plan {
			if strings.HasPrefix(l, "SEARCH c ") || strings.HasPrefix(l, "SCAN c") {
				first = l
				break
			}
		}
		if first != tt.want {
			t.Errorf("page with %q: plan:\n%s\nwant the conversations read first by %q", tt.col, strings.Join(plan, "\n"), tt.want)
		}
	}
	q := countConversationsQuery("+c.", fq)
	plan := strings.Join(queryPlan(t, db, q, append([]any{"agent", "ws"}, fargs...)...), "\n")
	if strings.Contains(plan, "conversations_counts") || !strings.Contains(plan, "conversation_tags_tag") {
		t.Errorf("counts of a tag: plan:\n%s\nwant the tag's conversations read, not the index of counts", plan)
	}
}

// The index of the visitors online lists only them (a partial index): a
// new visitor writes no entry into it, an opening one and a leave one
// entry each, and the queries of the visitors online still read it.
func TestOnlineVisitorsIndexListsOnlyThem(t *testing.T) {
	ctx := t.Context()
	db := openMigrated(t)
	var partial bool
	err := db.SQL.QueryRowContext(ctx, `SELECT partial FROM pragma_index_list('visitors') WHERE name = 'visitors_online'`).Scan(&partial)
	if err != nil || !partial {
		t.Errorf("visitors_online: partial %v, err %v; want a partial index", partial, err)
	}
	for _, q := range []string{`SELECT id FROM visitors WHERE online = 1`,
		`SELECT v.id FROM visitors v WHERE v.online = 1
		AND NOT EXISTS (SELECT 1 FROM presence p WHERE p.kind = 'visitor' AND p.subject_id = v.id)`} {
		plan := queryPlan(t, db, q)
		if len(plan) == 0 || !strings.Contains(plan[0], "INDEX visitors_online") {
			t.Errorf("plan of %s:\n%s\nwant the visitors online read from their index", q, strings.Join(plan, "\n"))
		}
	}
}

// queryPlan returns the lines of SQLite's plan for q.
func queryPlan(t *testing.T, db *DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.SQL.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// Presence is keyed by subject first: its lookups by visitor or agent
// read its key (a row is one b-tree's entry, not a table's row and two
// indexes' entries).
func TestPresenceLookedUpByItsKey(t *testing.T) {
	ctx := t.Context()
	db := openMigrated(t)
	for _, q := range []string{
		`SELECT 1 FROM presence WHERE kind = 'visitor' AND subject_id = 'v' LIMIT 1`,
		`DELETE FROM presence WHERE node_id = 'n' AND kind = 'visitor' AND subject_id = 'v'`,
		`SELECT v.id FROM visitors v WHERE v.online = 1
		AND NOT EXISTS (SELECT 1 FROM presence p WHERE p.kind = 'visitor' AND p.subject_id = v.id)`,
	} {
		plan := strings.Join(queryPlan(t, db, q), "\n")
		if !strings.Contains(plan, "USING PRIMARY KEY (kind=? AND subject_id=?") {
			t.Errorf("plan of %s:\n%s\nwant presence searched by its key", q, plan)
		}
	}
	var indexes int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_index_list('presence') WHERE origin = 'c'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 0 {
		t.Errorf("presence has %d indexes besides its key, want none", indexes)
	}
}

// A conversation's message moves only the indexes a query reads by what
// it moves (activity, the visitor's newest), a new visitor only those of
// its lookups: the counts by workspace and the lookups by visitor search
// an index, none walks the table, and the three indexes no query needed
// are gone.
func TestNoIndexWrittenForNothing(t *testing.T) {
	ctx := t.Context()
	db := openMigrated(t)
	for _, q := range []string{
		`SELECT id FROM conversations WHERE workspace_id = ? AND status = 'open'`,
		`SELECT COUNT(*) FROM conversations c WHERE c.workspace_id = ? AND c.status = 'open'
		AND c.visitor_message_id > COALESCE(c.agent_read_id, '')`,
		`SELECT COALESCE(SUM(CASE WHEN c.assignee_id = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM conversations c WHERE c.workspace_id = ?`,
		`SELECT id FROM conversations WHERE visitor_id = ? AND workspace_id = ? ORDER BY id`,
		`UPDATE conversations SET returned_at = ? WHERE visitor_id = ? AND channel = 'website'`,
	} {
		plan := queryPlan(t, db, q, make([]any, strings.Count(q, "?"))...)
		if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH ") {
			t.Errorf("plan of %s:\n%s\nwant an index searched", q, strings.Join(plan, "\n"))
		}
	}
	var left int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'
		AND name IN ('conversations_workspace', 'conversations_visitor', 'visitors_workspace')`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the three unused indexes are left", left)
	}
}
