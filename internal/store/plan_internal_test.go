package store

import (
	"strings"
	"testing"
)

// Reading conversations by id looks each one up by its key, whatever
// the workspace holds and without statistics (SQLite had walked the
// workspace's index instead, every conversation for each chunk of ids).
func TestConversationsByIDLooksUpIDs(t *testing.T) {
	ctx := t.Context()
	db := openSQLite(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	args := make([]any, 64)
	for i := range args {
		args[i] = "id"
	}
	rows, err := db.SQL.QueryContext(ctx, "EXPLAIN QUERY PLAN "+conversationsByIDQuery(len(args)), args...)
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
	if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH c USING INDEX sqlite_autoindex_conversations_1 (id=?)") {
		t.Errorf("plan:\n%s\nwant the conversations searched by id first", strings.Join(plan, "\n"))
	}
}
