package store_test

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestContinuityReport seeds three days around Paris's change to summer
// time (30 March 2025 lasts 23 hours) and checks every figure of each day,
// with another workspace's rows and rows outside the range left out.
func TestContinuityReport(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		local := func(day, hour, minute int) time.Time { return time.Date(2025, 3, day, hour, minute, 0, 0, paris) }
		w := newWorkspace(t, db, "Shop", base)
		other := newWorkspace(t, db, "Other", base)

		visitor := func(ws model.Workspace, email, source string) model.Visitor {
			t.Helper()
			v := model.Visitor{ID: model.NewID(), WorkspaceID: ws.ID, EmailStatus: model.EmailOK, CreatedAt: base}
			if email != "" {
				v.Email = &email
			}
			if source != "" {
				v.EmailSource = &source
			}
			if err := db.CreateVisitor(ctx, v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		email := func(c model.Conversation, to string, queued time.Time) string {
			t.Helper()
			id := model.NewID()
			if err := db.CreateEmail(ctx, store.Email{ID: id, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, VisitorID: c.Visitor.ID,
				MessageID: "<" + id + "@parley.test>", From: "support@shop.test", To: to, Raw: []byte("x"),
				NextAttemptAt: queued, CreatedAt: queued}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		status := func(id, st string, when time.Time) {
			t.Helper()
			if _, err := db.SetEmailStatus(ctx, id, st, when, "", when); err != nil {
				t.Fatal(err)
			}
		}

		ann := visitor(w, "ann@example.com", model.EmailFromContactForm)
		bob := visitor(w, "", "")
		old := visitor(w, "old@example.com", "") // stored before sources were recorded
		cat := visitor(w, "cat@example.com", model.EmailFromConversation)
		dan := visitor(w, "dan@example.com", model.EmailFromIdentity)

		c1 := newConversation(t, db, ann, model.ChannelWebsite, local(29, 9, 0))
		newConversation(t, db, bob, model.ChannelWebsite, local(29, 12, 0))
		c3 := newConversation(t, db, old, model.ChannelWebsite, local(29, 23, 59))
		newConversation(t, db, cat, model.ChannelWebsite, local(30, 23, 30)) // 21:30 UTC: still the 30th in Paris
		newConversation(t, db, dan, model.ChannelWebsite, local(31, 0, 30))  // 22:30 UTC on the 30th: the 31st in Paris
		newConversation(t, db, ann, model.ChannelWebsite, local(28, 23, 0))  // before the range
		newConversation(t, db, ann, model.ChannelWebsite, local(1+31, 0, 0)) // 1 April: after it

		// Before any email, a return is no return.
		if err := db.MarkReturned(ctx, ann.ID, local(29, 10, 0)); err != nil {
			t.Fatal(err)
		}
		e1 := email(c1, "ann@example.com", local(29, 20, 0))
		status(e1, "queued", local(29, 20, 1)) // a retry: neither sent nor given up
		status(e1, "sent", local(30, 10, 0))
		e2 := email(c3, "old@example.com", local(30, 9, 0))
		status(e2, "sent", local(30, 9, 1))
		status(e2, "bounced", local(31, 8, 0))
		e3 := email(c3, "old@example.com", local(31, 9, 0))
		status(e3, "failed", local(31, 9, 5))
		status(e3, "bounced", local(31, 10, 0)) // the first outcome's time stays

		if _, err := db.StopEmailAddress(ctx, w.ID, "ann@example.com", model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", local(31, 12, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.StopEmailAddress(ctx, w.ID, "old@example.com", model.EmailBouncing, model.EmailStatusByBounce, "", local(31, 8, 0)); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{local(31, 7, 0), local(31, 18, 0)} { // the first answer counts
			if err := db.MarkEmailAnswered(ctx, c1.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		for _, at := range []time.Time{local(30, 10, 30), local(31, 11, 0)} { // the first return counts
			if err := db.MarkReturned(ctx, ann.ID, at); err != nil {
				t.Fatal(err)
			}
		}

		// The other workspace's figures are its own.
		oc := newConversation(t, db, visitor(other, "x@example.com", model.EmailFromAgent), model.ChannelWebsite, local(30, 12, 0))
		oe := email(oc, "x@example.com", local(30, 12, 0))
		status(oe, "sent", local(30, 12, 1))
		if _, err := db.StopEmailAddress(ctx, other.ID, "x@example.com", model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", local(30, 13, 0)); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkEmailAnswered(ctx, oc.ID, local(30, 14, 0)); err != nil {
			t.Fatal(err)
		}

		days := []store.Day{{From: local(29, 0, 0), To: local(30, 0, 0)}, {From: local(30, 0, 0), To: local(31, 0, 0)}, {From: local(31, 0, 0), To: local(32, 0, 0)}}
		got, err := db.ContinuityReport(ctx, w.ID, days)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.ContinuityDay{
			{Conversations: 3, Identified: map[string]int{model.EmailFromContactForm: 1, store.UnknownSource: 1}},
			{Conversations: 1, Identified: map[string]int{model.EmailFromConversation: 1}, EmailsSent: 2, Returned: 1},
			{Conversations: 1, Identified: map[string]int{model.EmailFromIdentity: 1}, EmailsBounced: 2, Unsubscribed: 1, AnsweredByEmail: 1},
		}
		check(t, "report", got, want)

		empty, err := db.ContinuityReport(ctx, w.ID, nil)
		if err != nil || len(empty) != 0 {
			t.Errorf("report of no days = %v, %v", empty, err)
		}
	})
}

// Migration 00076 fills the continuity facts from what was stored before
// it: the first email answer, the first widget message after the first
// sent email, and the time of a failure.
func TestContinuityMigration(t *testing.T) {
	forEachEmptyDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if err := db.MigrateUpTo(ctx, 75); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.SQL.ExecContext(ctx, rebind(db, q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO workspaces (id, name, site_key, created_at) VALUES ('w1', 'Acme', 'k1', 0)`)
		exec(`INSERT INTO visitors (id, workspace_id, email, created_at) VALUES ('v1', 'w1', 'ann@example.com', 0)`)
		for _, c := range []string{"c1", "c2"} {
			exec(`INSERT INTO conversations (id, workspace_id, visitor_id, created_at, last_message_at) VALUES (?, 'w1', 'v1', 0, 0)`, c)
		}
		msg := func(id, conv, channel string, at int64) {
			exec(`INSERT INTO messages (id, workspace_id, conversation_id, author_kind, kind, channel, body, created_at)
				VALUES (?, 'w1', ?, 'visitor', 'reply', ?, 'hi', ?)`, id, conv, channel, at)
		}
		email := func(id, conv, status string, next int64, sent any) {
			exec(`INSERT INTO emails (id, workspace_id, conversation_id, visitor_id, message_id, mail_from, rcpt_to, raw, status, next_attempt_at, created_at, sent_at)
				VALUES (?, 'w1', ?, 'v1', ?, 'a@b.test', 'ann@example.com', 'x', ?, ?, 0, ?)`, id, conv, "<"+id+">", status, next, sent)
		}
		msg("m1", "c1", "widget", 100) // before any email: no return
		email("e1", "c1", "sent", 200, int64(200))
		msg("m2", "c1", "email", 300)
		msg("m3", "c1", "widget", 400) // the return
		msg("m4", "c1", "email", 500)
		msg("m5", "c1", "widget", 600)
		email("e2", "c2", "failed", 700, nil)
		msg("m6", "c2", "widget", 800) // no email sent in c2: no return
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		read := func(q string, args ...any) (v sql.NullInt64) {
			t.Helper()
			if err := db.SQL.QueryRowContext(ctx, rebind(db, q), args...).Scan(&v); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return v
		}
		for _, tt := range []struct {
			what, q, id string
			want        sql.NullInt64
		}{
			{"c1 answered", `SELECT email_answered_at FROM conversations WHERE id = ?`, "c1", sql.NullInt64{Int64: 300, Valid: true}},
			{"c1 returned", `SELECT returned_at FROM conversations WHERE id = ?`, "c1", sql.NullInt64{Int64: 400, Valid: true}},
			{"c2 answered", `SELECT email_answered_at FROM conversations WHERE id = ?`, "c2", sql.NullInt64{}},
			{"c2 returned", `SELECT returned_at FROM conversations WHERE id = ?`, "c2", sql.NullInt64{}},
			{"e1 given up", `SELECT given_up_at FROM emails WHERE id = ?`, "e1", sql.NullInt64{}},
			{"e2 given up", `SELECT given_up_at FROM emails WHERE id = ?`, "e2", sql.NullInt64{Int64: 700, Valid: true}},
		} {
			if got := read(tt.q, tt.id); got != tt.want {
				t.Errorf("%s = %+v, want %+v", tt.what, got, tt.want)
			}
		}
	})
}

// SetVisitorOnline tells whether the visitor is returning exactly when
// MarkReturned would mark one of their conversations, and answers the
// visitor as written, with their address's email status.
func TestSetVisitorOnlineReturning(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Shop", base)
		sent := func(c model.Conversation, at time.Time) {
			t.Helper()
			id := model.NewID()
			if err := db.CreateEmail(ctx, store.Email{ID: id, WorkspaceID: c.WorkspaceID, ConversationID: c.ID, VisitorID: c.Visitor.ID,
				MessageID: "<" + id + "@parley.test>", From: "support@shop.test", To: "vera@example.com", Raw: []byte("x"),
				NextAttemptAt: at, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SetEmailStatus(ctx, id, "sent", at, "", at); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name  string
			setup func(v model.Visitor)
			want  bool
		}{
			{"no conversation", func(model.Visitor) {}, false},
			{"no email", func(v model.Visitor) { newConversation(t, db, v, model.ChannelWebsite, at(time.Minute)) }, false},
			{"an email sent", func(v model.Visitor) {
				sent(newConversation(t, db, v, model.ChannelWebsite, at(time.Minute)), at(2*time.Minute))
			}, true},
			{"an email sent after the connection", func(v model.Visitor) {
				sent(newConversation(t, db, v, model.ChannelWebsite, at(time.Minute)), at(time.Hour))
			}, false},
			{"an email sent, the visitor back since", func(v model.Visitor) {
				sent(newConversation(t, db, v, model.ChannelWebsite, at(time.Minute)), at(2*time.Minute))
				if err := db.MarkReturned(ctx, v.ID, at(3*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}, false},
			{"an email in a conversation of another channel", func(v model.Visitor) {
				sent(newConversation(t, db, v, model.ChannelEmail, at(time.Minute)), at(2*time.Minute))
			}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v := newVisitor(t, db, w.ID, new("vera@example.com"))
				tt.setup(v)
				got, returning, err := db.SetVisitorOnline(ctx, v.ID, at(10*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				check(t, "returning", returning, tt.want)
				check(t, "visitor", got.ID, v.ID)
				check(t, "online", got.Online, true)
				// MarkReturned agrees: it marks a conversation exactly then.
				if err := db.MarkReturned(ctx, v.ID, at(10*time.Minute)); err != nil {
					t.Fatal(err)
				}
				_, again, err := db.SetVisitorOnline(ctx, v.ID, at(11*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				check(t, "returning after MarkReturned", again, false)
			})
		}

		// The visitor as read, with the email status of its address.
		for _, tt := range []struct {
			name, email string
			stopped     bool // the address bounces
			wantStatus  string
		}{
			{"anonymous", "", false, model.EmailOK},
			{"an address that bounces", "gone@example.com", true, model.EmailBouncing},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var email *string
				if tt.email != "" {
					email = &tt.email
				}
				v := newVisitor(t, db, w.ID, email)
				if tt.stopped {
					if _, err := db.StopEmailAddress(ctx, w.ID, tt.email, model.EmailBouncing, model.EmailStatusByBounce, "", at(time.Minute)); err != nil {
						t.Fatal(err)
					}
				}
				got, _, err := db.SetVisitorOnline(ctx, v.ID, at(2*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				want, err := db.VisitorByID(ctx, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "email status", got.EmailStatus, tt.wantStatus)
				check(t, "visitor", got, want)
			})
		}
		t.Run("unknown visitor", func(t *testing.T) {
			if _, _, err := db.SetVisitorOnline(ctx, model.NewID(), at(time.Minute)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}
