package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// A node that dies holding claimed emails does not delay them until the
// lease runs out: removing it makes them due at once, and only them. A node
// that heartbeated since it was found stale keeps them.
func TestRemoveDeadNodeReleasesItsEmails(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		v := newVisitor(t, db, w.ID, new("vera@example.com"))
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		for i := range 4 {
			e := store.Email{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, VisitorID: v.ID,
				MessageID: fmt.Sprintf("<%d@example.test>", i), From: "parley@example.test", To: "vera@example.com",
				Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: base, CreatedAt: base}
			if err := db.CreateEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		now := at(time.Minute)
		if err := db.Heartbeat(ctx, "node-a", at(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		claim := func(node string, limit int) []string {
			t.Helper()
			got, err := db.ClaimEmails(ctx, node, now, 2*time.Minute, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			sort.Strings(ids)
			return ids
		}
		onA := claim("node-a", 3)
		if len(onA) != 3 {
			t.Fatalf("node A claimed %d, want 3", len(onA))
		}
		// A delivers one before it dies.
		if _, err := db.SetEmailStatus(ctx, onA[0], "sent", now, "", now); err != nil {
			t.Fatal(err)
		}
		if got := claim("node-b", 10); len(got) != 1 {
			t.Fatalf("node B claimed %d while A holds its emails, want the 1 left", len(got))
		}
		// Found stale with a cutoff of 40 s, but it heartbeated at 50 s.
		if err := db.Heartbeat(ctx, "node-a", at(50*time.Second)); err != nil {
			t.Fatal(err)
		}
		if removed, _, _, err := db.RemoveDeadNode(ctx, "node-a", at(40*time.Second), now); err != nil || removed {
			t.Fatalf("a node that came back was removed (%v, %v)", removed, err)
		}
		if got := claim("node-b", 10); len(got) != 0 {
			t.Fatalf("node B took %d emails of a live node", len(got))
		}
		if removed, _, _, err := db.RemoveDeadNode(ctx, "node-a", at(55*time.Second), now); err != nil || !removed {
			t.Fatalf("a dead node was not removed (%v, %v)", removed, err)
		}
		check(t, "claimed by B once A is removed", claim("node-b", 10), onA[1:])
		if got := claim("node-b", 10); len(got) != 0 {
			t.Fatalf("claimed again: %v", got)
		}
	})
}

// recordOne records one attempt alone.
func recordOne(ctx context.Context, db *store.DB, emailID, status string, at time.Time, note string) (store.Outcome, error) {
	outs, err := db.RecordEmailOutcomes(ctx, []store.EmailAttempt{{EmailID: emailID, Status: status, Next: at, At: at, Note: note}}, nil)
	if err != nil {
		return store.Outcome{}, err
	}
	return outs[0], nil
}

// The outbox records each delivery outcome with the replies the email
// carries, and gets them back as they now are.
func TestRecordEmailOutcome(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		v := newVisitor(t, db, w.ID, new("vera@example.com"))
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		r1 := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "one")
		r2 := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "two")
		// Its events replace the replies on screens: with their files.
		if err := db.CreateAttachment(ctx, model.Attachment{ID: model.NewID(), WorkspaceID: w.ID, MessageID: r2.ID, Filename: "plan.pdf",
			ContentType: "application/pdf", Size: 3, CreatedAt: base}, []byte("pdf")); err != nil {
			t.Fatal(err)
		}
		email := func(replies ...model.Message) store.Email {
			t.Helper()
			e := store.Email{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, VisitorID: v.ID,
				MessageID: "<" + model.NewID() + "@example.test>", From: "parley@example.test", To: "vera@example.com",
				Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: base, CreatedAt: base}
			if err := db.CreateEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range replies {
				ids = append(ids, m.ID)
			}
			if err := db.MarkForwarded(ctx, ids, e.ID, e.To, base); err != nil {
				t.Fatal(err)
			}
			return e
		}
		status := func(msgs []model.Message) string {
			var out []string
			for _, m := range msgs {
				s := m.Body + ":"
				if m.Forwarded != nil {
					s += m.Forwarded.Status
				}
				for _, a := range m.Attachments {
					s += "+" + a.Filename
				}
				out = append(out, s)
			}
			return fmt.Sprint(out)
		}
		now := at(time.Minute)
		e := email(r1, r2)
		if err := db.SetForwardState(ctx, c.ID, model.Forwarding{Code: "queued", Reason: "emailed"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, status, want string
			moved              bool // the conversation's forwarding state moved on
		}{
			{"a temporary failure: the replies stay queued", "queued", "[]", false},
			{"sent", "sent", "[one:sent two:sent+plan.pdf]", true},
		}
		for _, tt := range tests {
			out, err := recordOne(ctx, db, e.ID, tt.status, now, "; accepted")
			got := out.Replies
			if err != nil {
				t.Fatal(err)
			}
			if s := status(got); s != tt.want {
				t.Errorf("%s: replies %s, want %s", tt.name, s, tt.want)
			}
			if (out.Conversation == c.ID) != tt.moved {
				t.Errorf("%s: conversation %q moved on, want %v", tt.name, out.Conversation, tt.moved)
			}
		}
		if st, err := db.ForwardState(ctx, c.ID); err != nil || st.Code != "sent" || st.Reason != "emailed; accepted" {
			t.Errorf("forwarding state after sent: %+v, %v", st, err)
		}
		if got, err := db.Email(ctx, e.ID); err != nil || got.Status != "sent" || got.SentAt == nil {
			t.Errorf("email after sent: %+v, %v", got, err)
		}
		// A bounce is final: a late "sent" does not undo it.
		r3 := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "three")
		b := email(r3)
		if _, err := db.SetEmailStatus(ctx, b.ID, "bounced", now, "bounced: 5.1.1", now); err != nil {
			t.Fatal(err)
		}
		out, err := recordOne(ctx, db, b.ID, "sent", now, "")
		got := out.Replies
		if err != nil || len(got) != 0 || out.Recorded {
			t.Errorf("sent after a bounce: %s, recorded %v, %v; want nothing changed", status(got), out.Recorded, err)
		}
		// An email that carries no reply takes its status all the same.
		out, err = recordOne(ctx, db, email().ID, "failed", now, "")
		if err != nil || len(out.Replies) != 0 || !out.Recorded {
			t.Errorf("failed without replies: %s, recorded %v, %v; want recorded", status(out.Replies), out.Recorded, err)
		}
		msgs, err := db.Messages(ctx, w.ID, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if s := status(msgs); s != "[one:sent two:sent+plan.pdf three:bounced]" {
			t.Errorf("stored replies %s", s)
		}
	})
}

// The outbox records a burst's outcomes in one transaction: each email
// gets its own status, replies and conversation state, in the attempts'
// order; what follows them in the transaction may fail without undoing
// them.
func TestRecordEmailOutcomes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		now := at(time.Minute)
		type sent struct {
			email store.Email
			conv  model.Conversation
			reply model.Message
		}
		queue := func(name string) sent {
			t.Helper()
			v := newVisitor(t, db, w.ID, new(name+"@example.com"))
			c := newConversation(t, db, v, model.ChannelWebsite, base)
			r := newMessage(t, db, c, model.AuthorAgent, model.KindReply, name)
			if err := db.CreateAttachment(ctx, model.Attachment{ID: model.NewID(), WorkspaceID: w.ID, MessageID: r.ID, Filename: name + ".txt",
				ContentType: "text/plain", Size: 1, CreatedAt: base}, []byte("x")); err != nil {
				t.Fatal(err)
			}
			e := store.Email{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, VisitorID: v.ID,
				MessageID: "<" + model.NewID() + "@example.test>", From: "parley@example.test", To: name + "@example.com",
				Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: base, CreatedAt: base}
			if err := db.CreateEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
			if err := db.MarkForwarded(ctx, []string{r.ID}, e.ID, e.To, base); err != nil {
				t.Fatal(err)
			}
			if err := db.SetForwardState(ctx, c.ID, model.Forwarding{Code: "queued", Reason: "emailed"}); err != nil {
				t.Fatal(err)
			}
			return sent{e, c, r}
		}
		tests := []struct {
			name, status, err string
			bounced           bool   // a bounce was recorded first
			wantEmail         string // the email's status after
			wantReply         string // the reply's forwarded status after ("" : none returned)
			wantState         string // the conversation's forwarding state after
		}{
			{"accepted", "sent", "", false, "sent", "sent", "sent"},
			{"refused", "failed", "550 no such user", false, "failed", "failed", "failed"},
			{"deferred", "queued", "451 try later", false, "queued", "", "queued"},
			{"accepted after its bounce", "sent", "", true, "bounced", "", "queued"},
			{"refused after its bounce", "failed", "550 no such user", true, "bounced", "", "queued"},
		}
		// More than a padded list's smallest lengths.
		for i := range 8 {
			tests = append(tests, tests[0])
			tests[len(tests)-1].name = fmt.Sprintf("accepted %d", i)
		}
		var (
			emails   []sent
			attempts []store.EmailAttempt
		)
		for _, tt := range tests {
			s := queue(strings.ReplaceAll(tt.name, " ", "."))
			if tt.bounced {
				if _, err := db.SetEmailStatus(ctx, s.email.ID, "bounced", now, "bounced: 5.1.1", now); err != nil {
					t.Fatal(err)
				}
			}
			emails = append(emails, s)
			attempts = append(attempts, store.EmailAttempt{EmailID: s.email.ID, Status: tt.status, Next: now.Add(time.Minute),
				Error: tt.err, At: now, Note: "; " + tt.name})
		}

		// What follows the outcomes in their transaction (the webhooks'
		// events) may fail, a statement of it too (which on PostgreSQL
		// aborts the transaction): what it wrote is undone, the outcomes
		// stay.
		other := queue("other")
		var also int
		outs, err := db.RecordEmailOutcomes(ctx, attempts, func(tx *store.Store, outs []store.Outcome) error {
			also++
			for i, tt := range tests {
				if outs[i].Recorded == tt.bounced {
					t.Errorf("%s: recorded %v, want %v", tt.name, outs[i].Recorded, !tt.bounced)
				}
			}
			if err := tx.SetForwardState(ctx, other.conv.ID, model.Forwarding{Code: "off", Reason: "undone"}); err != nil {
				return err
			}
			return tx.CreateEmail(ctx, other.email) // already there
		})
		if err == nil {
			t.Fatal("extras that failed: no error")
		}
		if also != 1 || len(outs) != len(tests) {
			t.Fatalf("also ran %d times, %d outcomes; want once, %d", also, len(outs), len(tests))
		}
		if st, err := db.ForwardState(ctx, other.conv.ID); err != nil || st.Code != "queued" {
			t.Errorf("what the failing extras wrote: %q %q, %v; want it undone (queued)", st.Code, st.Reason, err)
		}
		for i, tt := range tests {
			s, out := emails[i], outs[i]
			var replies []string
			for _, m := range out.Replies {
				r := m.ID + ":" + m.Forwarded.Status
				for _, a := range m.Attachments {
					r += "+" + a.Filename
				}
				replies = append(replies, r)
			}
			want := []string(nil)
			if tt.wantReply != "" {
				want = []string{s.reply.ID + ":" + tt.wantReply + "+" + strings.ReplaceAll(tt.name, " ", ".") + ".txt"}
			}
			if fmt.Sprint(replies) != fmt.Sprint(want) {
				t.Errorf("%s: replies %v, want %v", tt.name, replies, want)
			}
			if moved := out.Conversation == s.conv.ID; moved != (tt.wantState != "queued") {
				t.Errorf("%s: conversation %q returned as moved on, want %v", tt.name, out.Conversation, tt.wantState != "queued")
			}
			wantErr := tt.err
			if tt.bounced {
				wantErr = "bounced: 5.1.1"
			}
			if got, err := db.Email(ctx, s.email.ID); err != nil || got.Status != tt.wantEmail || got.LastError != wantErr {
				t.Errorf("%s: email %q %q, %v; want %q %q", tt.name, got.Status, got.LastError, err, tt.wantEmail, wantErr)
			}
			st, err := db.ForwardState(ctx, s.conv.ID)
			wantReason := "emailed"
			if tt.wantState != "queued" {
				wantReason += "; " + tt.name
			}
			if err != nil || st.Code != tt.wantState || st.Reason != wantReason {
				t.Errorf("%s: forwarding state %q %q, %v; want %q %q", tt.name, st.Code, st.Reason, err, tt.wantState, wantReason)
			}
		}

		// Two emails of one conversation in a batch: only the newest
		// speaks for it.
		older := queue("twice")
		newer := older.email
		newer.ID, newer.MessageID, newer.CreatedAt = model.NewID(), "<"+model.NewID()+"@example.test>", base.Add(time.Second)
		if err := db.CreateEmail(ctx, newer); err != nil {
			t.Fatal(err)
		}
		outs, err = db.RecordEmailOutcomes(ctx, []store.EmailAttempt{
			{EmailID: newer.ID, Status: "sent", At: now, Next: now, Note: "; newer"},
			{EmailID: older.email.ID, Status: "failed", At: now, Next: now, Note: "; older"},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if outs[0].Conversation != older.conv.ID || outs[1].Conversation != "" {
			t.Errorf("moved on by the newer %q and the older %q; want by the newer only", outs[0].Conversation, outs[1].Conversation)
		}
		if st, err := db.ForwardState(ctx, older.conv.ID); err != nil || st.Code != "sent" || st.Reason != "emailed; newer" {
			t.Errorf("forwarding state after both: %q %q, %v; want the newer's", st.Code, st.Reason, err)
		}
	})
}

// NewestEmails lists a conversation's newest emails first, as many as
// asked, and none of another conversation's.
func TestNewestEmails(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "Acme", base)
		c := newConversation(t, db, newVisitor(t, db, w.ID, new("vera@example.com")), model.ChannelWebsite, base)
		other := newConversation(t, db, newVisitor(t, db, w.ID, new("sam@example.com")), model.ChannelWebsite, base)
		var ids []string
		for i := range 4 {
			ids = append(ids, newEmail(t, db, c, "vera@example.com", at(time.Duration(i)*time.Minute)).ID)
		}
		newEmail(t, db, other, "sam@example.com", at(time.Hour))
		got, err := db.NewestEmails(t.Context(), c.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, e := range got {
			gotIDs = append(gotIDs, e.ID)
		}
		if want := []string{ids[3], ids[2]}; fmt.Sprint(gotIDs) != fmt.Sprint(want) {
			t.Errorf("newest 2: %v, want %v", gotIDs, want)
		}
	})
}
