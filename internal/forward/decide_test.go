package forward

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// t0 is 10:00:00 UTC on the day of the test conversations; at(m, s) is m minutes and s seconds later.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func visitorMsg(id string, created time.Time) Message {
	return Message{ID: id, AuthorKind: model.AuthorVisitor, Kind: model.KindReply, Body: "visitor " + id, CreatedAt: created}
}

func agentReply(id string, created time.Time) Message {
	return Message{ID: id, AuthorKind: model.AuthorAgent, AuthorName: "Alex", Kind: model.KindReply, Body: "agent " + id, CreatedAt: created}
}

func agentComment(id string, created time.Time) Message {
	return Message{ID: id, AuthorKind: model.AuthorAgent, AuthorName: "Alex", Kind: model.KindComment, Body: "note " + id, CreatedAt: created}
}

func systemEvent(id string, created time.Time) Message {
	return Message{ID: id, AuthorKind: model.AuthorSystem, Kind: model.KindEvent, Body: "event " + id, CreatedAt: created}
}

func forwarded(m Message) Message {
	m.Forwarded = true
	return m
}

func writtenOff(m Message) Message {
	m.WrittenWhileOff = true
	return m
}

// snapshot is an identified, offline website visitor who left at 10:37:00 after reading
// everything up to 10:35:00, with agents available, and the given messages.
func snapshot(msgs ...Message) Snapshot {
	return Snapshot{
		ConversationID:  "c1",
		Channel:         model.ChannelWebsite,
		VisitorEmail:    "sam@example.com",
		VisitorName:     "Sam",
		EmailStatus:     model.EmailOK,
		LeftAt:          at(37, 0),
		LastActiveAt:    at(35, 0),
		ReadCursor:      at(35, 0),
		AgentsAvailable: true,
		Messages:        msgs,
	}
}

// chat is a short conversation whose one pending reply (r2, 10:36:00) follows the read cursor.
func chat() []Message {
	return []Message{visitorMsg("v1", at(34, 0)), agentReply("r1", at(35, 0)), agentReply("r2", at(36, 0))}
}

// longChat is 15 public messages (plus a comment and an event) whose last two, agent replies,
// are unread: p1..p13 are read, r14 and r15 pending.
func longChat() Snapshot {
	var msgs []Message
	for i := 1; i <= 13; i++ {
		id := fmt.Sprintf("p%d", i)
		if i%2 == 1 {
			msgs = append(msgs, visitorMsg(id, at(i, 0)))
		} else {
			msgs = append(msgs, agentReply(id, at(i, 0)))
		}
	}
	msgs = append(msgs, agentComment("note", at(13, 30)), systemEvent("assigned", at(13, 40)),
		agentReply("r14", at(14, 0)), agentReply("r15", at(15, 0)))
	s := snapshot(msgs...)
	s.ReadCursor = at(13, 0)
	s.LeftAt, s.LastActiveAt = at(13, 10), at(13, 0)
	return s
}

func with(s Snapshot, change func(*Snapshot)) Snapshot {
	change(&s)
	return s
}

func ids(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func TestDecide(t *testing.T) {
	shrunk := Timings{LeftAfter: 2 * time.Second, IdleAfter: 5 * time.Second, Quiet: time.Second}
	tests := []struct {
		name     string
		now      time.Time
		snap     Snapshot
		mode     Mode
		timings  *Timings // nil: DefaultTimings
		outcome  Outcome
		code     Code
		due      time.Time
		reason   string   // checked when set
		pending  []string // checked for Wait and Send
		messages []string // checked for Send
	}{
		// Who is emailed.
		{name: "not identified", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.VisitorEmail = "" }),
			outcome: Nothing, code: CodeNotIdentified, reason: "not sent: visitor not identified"},
		{name: "blank email is not identified", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.VisitorEmail = "  " }),
			outcome: Nothing, code: CodeNotIdentified},
		{name: "unsubscribed", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.EmailStatus = model.EmailUnsubscribed }),
			outcome: Nothing, code: CodeUnsubscribed, reason: "not sent: sam@example.com unsubscribed; the visitor can opt in again from the chat's contact form"},
		{name: "unsubscribed by link, with its time", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) {
			s.EmailStatus, s.EmailSource = model.EmailUnsubscribed, "unsubscribe"
			s.EmailChangedAt = time.Date(2026, 1, 2, 14, 5, 0, 0, time.FixedZone("CET", 3600))
		}),
			outcome: Nothing, code: CodeUnsubscribed, reason: "not sent: sam@example.com unsubscribed (unsubscribe link of an email, 2 Jan 2026 13:05 UTC); the visitor can opt in again from the chat's contact form"},
		{name: "bouncing", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.EmailStatus = model.EmailBouncing }),
			outcome: Nothing, code: CodeBouncing, reason: "not sent: sam@example.com bounced; the visitor can opt in again from the chat's contact form"},
		{name: "bouncing, reported", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.EmailStatus, s.EmailSource = model.EmailBouncing, "bounce" }),
			outcome: Nothing, code: CodeBouncing, reason: "not sent: sam@example.com bounced (delivery failure report); the visitor can opt in again from the chat's contact form"},
		{name: "empty email status counts as ok", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.EmailStatus = "" }),
			outcome: Send, code: CodeDue, due: at(42, 0)},

		// Channels.
		{name: "messenger", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.Channel = model.ChannelMessenger }),
			outcome: Nothing, code: CodeOtherChannel, reason: "not sent: messenger conversations are answered on Messenger"},
		{name: "instagram", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.Channel = model.ChannelInstagram }),
			outcome: Nothing, code: CodeOtherChannel, reason: "not sent: instagram conversations are answered on Instagram"},
		{name: "email conversation", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.Channel = model.ChannelEmail }),
			outcome: Nothing, code: CodeOtherChannel, reason: "not sent: email conversations are answered by email"},
		{name: "unknown channel", now: at(50, 0), snap: with(snapshot(chat()...), func(s *Snapshot) { s.Channel = "" }),
			outcome: Nothing, code: CodeOtherChannel, reason: "not sent: conversation channel unknown"},
		{name: "channel is checked before identification", now: at(50, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.Channel, s.VisitorEmail = model.ChannelMessenger, "" }),
			outcome: Nothing, code: CodeOtherChannel},

		// Modes.
		{name: "mode off", now: at(50, 0), snap: snapshot(chat()...), mode: ModeOff,
			outcome: Nothing, code: CodeOff, reason: "not sent: email forwarding is off"},
		{name: "mode off is checked before identification", now: at(50, 0),
			snap: with(snapshot(chat()...), func(s *Snapshot) { s.VisitorEmail = "" }), mode: ModeOff,
			outcome: Nothing, code: CodeOff},
		{name: "unknown mode sends nothing", now: at(50, 0), snap: snapshot(chat()...), mode: "weekly",
			outcome: Nothing, code: CodeOff, reason: `not sent: unknown email forwarding mode "weekly"`},
		{name: "zero mode is unread", now: at(50, 0), snap: snapshot(chat()...), mode: "",
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r2"}, messages: []string{"v1", "r1", "r2"}},
		{name: "unread", now: at(50, 0), snap: snapshot(chat()...), mode: ModeUnread,
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r2"}, messages: []string{"v1", "r1", "r2"}},
		{name: "transcript", now: at(50, 0), snap: snapshot(chat()...), mode: ModeTranscript,
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r2"}, messages: []string{"v1", "r1", "r2"}},

		// Pending replies.
		{name: "no reply at all", now: at(50, 0), snap: snapshot(visitorMsg("v1", at(34, 0))),
			outcome: Nothing, code: CodeNothingPending, reason: "nothing unread"},
		{name: "comments and events are never pending", now: at(50, 0),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), agentComment("n1", at(36, 0)), systemEvent("e1", at(36, 10))),
			outcome: Nothing, code: CodeNothingPending, reason: "nothing unread"},
		{name: "a reply at the read cursor is read", now: at(50, 0), snap: snapshot(visitorMsg("v1", at(34, 0)), agentReply("r1", at(35, 0))),
			outcome: Nothing, code: CodeNothingPending},
		{name: "replies already forwarded", now: at(50, 0),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), forwarded(agentReply("r1", at(36, 0))), forwarded(agentReply("r2", at(36, 10)))),
			outcome: Nothing, code: CodeNothingPending, reason: "nothing to send: the unread replies were already emailed"},
		{name: "replies written while off are not pending", now: at(50, 0),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), writtenOff(agentReply("r1", at(36, 0)))),
			outcome: Nothing, code: CodeNothingPending, reason: "nothing to send: the unread replies were written while forwarding was off"},
		{name: "a reply written while off is context of one written while on", now: at(50, 0),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), writtenOff(agentReply("r1", at(36, 0))), agentReply("r2", at(38, 0))),
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r2"}, messages: []string{"v1", "r1", "r2"}},
		{name: "only the replies not yet forwarded are pending", now: at(50, 0),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), forwarded(agentReply("r1", at(36, 0))), visitorMsg("v2", at(36, 5)), agentReply("r2", at(38, 0))),
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r2"}, messages: []string{"v1", "r1", "v2", "r2"}},
		{name: "a read arriving just before due leaves nothing pending", now: at(41, 59),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.ReadCursor = at(36, 0) }),
			outcome: Nothing, code: CodeNothingPending, reason: "nothing unread"},
		{name: "a read of the first of two replies leaves the second pending", now: at(50, 0),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), agentReply("r1", at(36, 0)), agentReply("r2", at(38, 0)), agentReply("r3", at(38, 10))),
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r1", "r2", "r3"}},
		{name: "messages out of order are sorted", now: at(50, 0),
			snap:    snapshot(agentReply("r2", at(36, 0)), visitorMsg("v1", at(34, 0)), agentReply("r1", at(35, 0))),
			outcome: Send, code: CodeDue, pending: []string{"r2"}, messages: []string{"v1", "r1", "r2"}},

		// The left trigger.
		{name: "left: waiting", now: at(41, 59), snap: snapshot(chat()...),
			outcome: Wait, code: CodeWaiting, due: at(42, 0), pending: []string{"r2"},
			reason: "waiting until 10:42:00, visitor left at 10:37:00"},
		{name: "left: due exactly at due", now: at(42, 0), snap: snapshot(chat()...),
			outcome: Send, code: CodeDue, due: at(42, 0), pending: []string{"r2"},
			reason: "due at 10:42:00, visitor left at 10:37:00"},
		{name: "left: unknown left_at falls back to last activity", now: at(39, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.LeftAt = time.Time{} }),
			outcome: Wait, code: CodeWaiting, due: at(40, 0),
			reason: "waiting until 10:40:00, visitor offline, last active at 10:35:00"},
		{name: "left: nothing known means only quiet", now: at(36, 10),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.LeftAt, s.LastActiveAt = time.Time{}, time.Time{} }),
			outcome: Wait, code: CodeWaiting, due: at(36, 30),
			reason: "waiting until 10:36:30, newest reply at 10:36:00, visitor offline"},

		// The idle trigger.
		{name: "idle: waiting", now: at(50, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.Online, s.LeftAt = true, time.Time{} }),
			outcome: Wait, code: CodeWaiting, due: at(65, 0), pending: []string{"r2"},
			reason: "waiting until 11:05:00, visitor idle since 10:35:00"},
		{name: "idle: due", now: at(65, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.Online = true }),
			outcome: Send, code: CodeDue, due: at(65, 0)},
		{name: "idle: activity pushes it back", now: at(65, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.Online, s.LastActiveAt = true, at(64, 0) }),
			outcome: Wait, code: CodeWaiting, due: at(94, 0)},
		{name: "idle: unknown activity means only quiet", now: at(36, 30),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.Online, s.LastActiveAt = true, time.Time{} }),
			outcome: Send, code: CodeDue, due: at(36, 30),
			reason: "due at 10:36:30, newest reply at 10:36:00, visitor online, last activity unknown"},
		{name: "a return before LEFT_AFTER switches to the idle trigger", now: at(41, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.Online, s.LastActiveAt = true, at(39, 0) }),
			outcome: Wait, code: CodeWaiting, due: at(69, 0),
			reason: "waiting until 11:09:00, visitor idle since 10:39:00"},
		{name: "leaving again starts the clock anew", now: at(47, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.LastActiveAt, s.LeftAt = at(39, 0), at(45, 0) }),
			outcome: Wait, code: CodeWaiting, due: at(50, 0),
			reason: "waiting until 10:50:00, visitor left at 10:45:00"},

		// The agents-unavailable trigger.
		{name: "agents: all offline after the reply", now: at(40, 0),
			snap: with(snapshot(chat()...), func(s *Snapshot) {
				s.Online, s.LastActiveAt = true, at(35, 50)
				s.AgentsAvailable, s.AgentsUnavailableSince = false, at(38, 0)
			}),
			outcome: Send, code: CodeDue, due: at(38, 0), reason: "due at 10:38:00, no agent available since 10:38:00"},
		{name: "agents: quiet still applies", now: at(36, 10),
			snap: with(snapshot(chat()...), func(s *Snapshot) {
				s.Online, s.LastActiveAt = true, at(35, 50)
				s.AgentsAvailable, s.AgentsUnavailableSince = false, at(20, 0)
			}),
			outcome: Wait, code: CodeWaiting, due: at(36, 30),
			reason: "waiting until 10:36:30, newest reply at 10:36:00, no agent available since 10:20:00"},
		{name: "agents: unknown since means only quiet", now: at(36, 30),
			snap: with(snapshot(chat()...), func(s *Snapshot) {
				s.Online, s.LastActiveAt = true, at(35, 50)
				s.AgentsAvailable = false
			}),
			outcome: Send, code: CodeDue, due: at(36, 30)},
		{name: "agents: back online, the idle trigger holds again", now: at(40, 0),
			snap: with(snapshot(chat()...), func(s *Snapshot) {
				s.Online, s.LastActiveAt = true, at(35, 50)
				s.AgentsAvailable, s.AgentsUnavailableSince = true, at(38, 0)
			}),
			outcome: Wait, code: CodeWaiting, due: at(65, 50), reason: "waiting until 11:05:50, visitor idle since 10:35:50"},

		// The earliest trigger.
		{name: "earliest: agents before left", now: at(38, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.AgentsAvailable, s.AgentsUnavailableSince = false, at(39, 0) }),
			outcome: Wait, code: CodeWaiting, due: at(39, 0), reason: "waiting until 10:39:00, no agent available since 10:39:00"},
		{name: "earliest: left before agents", now: at(38, 0),
			snap:    with(snapshot(chat()...), func(s *Snapshot) { s.AgentsAvailable, s.AgentsUnavailableSince = false, at(50, 0) }),
			outcome: Wait, code: CodeWaiting, due: at(42, 0), reason: "waiting until 10:42:00, visitor left at 10:37:00"},
		{name: "earliest: idle before agents", now: at(36, 10),
			snap: with(snapshot(chat()...), func(s *Snapshot) {
				s.Online, s.LastActiveAt = true, at(1, 0)
				s.AgentsAvailable, s.AgentsUnavailableSince = false, at(50, 0)
			}),
			outcome: Wait, code: CodeWaiting, due: at(36, 30), reason: "waiting until 10:36:30, newest reply at 10:36:00, visitor idle since 10:01:00"},

		// Quiet after the newest pending reply.
		{name: "quiet: a burst of replies waits for the last", now: at(40, 40),
			snap:    with(snapshot(visitorMsg("v1", at(34, 0)), agentReply("r1", at(40, 0)), agentReply("r2", at(40, 20))), func(s *Snapshot) { s.LeftAt = at(20, 0) }),
			outcome: Wait, code: CodeWaiting, due: at(40, 50), pending: []string{"r1", "r2"},
			reason: "waiting until 10:40:50, newest reply at 10:40:20, visitor left at 10:20:00"},
		{name: "quiet: then both go in one email", now: at(40, 50),
			snap:    with(snapshot(visitorMsg("v1", at(34, 0)), agentReply("r1", at(40, 0)), agentReply("r2", at(40, 20))), func(s *Snapshot) { s.LeftAt = at(20, 0) }),
			outcome: Send, code: CodeDue, due: at(40, 50), pending: []string{"r1", "r2"}, messages: []string{"v1", "r1", "r2"}},
		{name: "negative timings count as zero", now: at(37, 0),
			snap: snapshot(chat()...), timings: &Timings{LeftAfter: -time.Minute, IdleAfter: -time.Minute, Quiet: -time.Minute},
			outcome: Send, code: CodeDue, due: at(37, 0)},
		{name: "scenario 1 with shrunk timings", now: at(37, 2),
			snap:    snapshot(visitorMsg("v1", at(34, 0)), agentReply("r1", at(37, 0)), agentReply("r2", at(37, 1))),
			timings: &shrunk, outcome: Send, code: CodeDue, due: at(37, 2), pending: []string{"r1", "r2"}},

		// What the email holds.
		{name: "unread: 10 public messages are sent whole", now: at(50, 0),
			snap: with(longChat(), func(s *Snapshot) { s.Messages = slices.Concat(s.Messages[:8], s.Messages[13:]) }),
			// p1..p8, note, assigned, r14, r15: 10 public messages.
			outcome: Send, code: CodeDue, pending: []string{"r14", "r15"},
			messages: []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "r14", "r15"}},
		{name: "unread: 15 messages give 3 context and the 2 replies", now: at(50, 0), snap: longChat(),
			outcome: Send, code: CodeDue, due: at(18, 10), pending: []string{"r14", "r15"},
			messages: []string{"p11", "p12", "p13", "r14", "r15"}},
		{name: "unread: everything from the first pending reply on", now: at(50, 0),
			snap: with(longChat(), func(s *Snapshot) {
				s.ReadCursor = at(9, 0)
				s.Messages[9].Forwarded = true // p10, unread but already forwarded: not pending, still shown
			}),
			outcome: Send, code: CodeDue, pending: []string{"p12", "r14", "r15"},
			messages: []string{"p9", "p10", "p11", "p12", "p13", "r14", "r15"}},
		{name: "unread: fewer than 3 messages before the first pending reply", now: at(50, 0),
			snap:    with(longChat(), func(s *Snapshot) { s.ReadCursor = at(1, 0) }),
			outcome: Send, code: CodeDue, pending: []string{"p2", "p4", "p6", "p8", "p10", "p12", "r14", "r15"},
			messages: []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12", "p13", "r14", "r15"}},
		{name: "transcript: every public message", now: at(50, 0), snap: longChat(), mode: ModeTranscript,
			outcome: Send, code: CodeDue, pending: []string{"r14", "r15"},
			messages: []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12", "p13", "r14", "r15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timings := DefaultTimings
			if tt.timings != nil {
				timings = *tt.timings
			}
			mode := tt.mode
			if mode == "" && tt.name != "zero mode is unread" {
				mode = ModeUnread
			}
			d := Decide(tt.now, tt.snap, mode, timings)
			if d.Outcome != tt.outcome || d.Code != tt.code {
				t.Fatalf("Decide = %s/%s (%q), want %s/%s", d.Outcome, d.Code, d.Reason, tt.outcome, tt.code)
			}
			if tt.reason != "" && d.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", d.Reason, tt.reason)
			}
			if d.Reason == "" {
				t.Error("Reason is empty")
			}
			if !tt.due.IsZero() && !d.Due.Equal(tt.due) {
				t.Errorf("Due = %s, want %s", d.Due.Format(time.TimeOnly), tt.due.Format(time.TimeOnly))
			}
			switch d.Outcome {
			case Nothing:
				if !d.Due.IsZero() || d.Messages != nil || d.Pending != nil {
					t.Errorf("Nothing carries Due %v, Messages %v, Pending %v", d.Due, d.Messages, d.Pending)
				}
			case Wait:
				if d.Messages != nil {
					t.Errorf("Wait carries Messages %v", ids(d.Messages))
				}
				if !tt.now.Before(d.Due) {
					t.Errorf("Wait with now %s not before Due %s", tt.now, d.Due)
				}
			case Send:
				if tt.now.Before(d.Due) {
					t.Errorf("Send with now %s before Due %s", tt.now, d.Due)
				}
				for _, m := range d.Messages {
					if !m.Public() {
						t.Errorf("email holds non-public message %s", m.ID)
					}
				}
				if tt.messages != nil && !slices.Equal(ids(d.Messages), tt.messages) {
					t.Errorf("Messages = %v, want %v", ids(d.Messages), tt.messages)
				}
			}
			if tt.pending != nil && !slices.Equal(d.Pending, tt.pending) {
				t.Errorf("Pending = %v, want %v", d.Pending, tt.pending)
			}
		})
	}
}

// The evaluation is re-run whenever an input changes; each of these is the same conversation
// before and after one change.
func TestDecideInputChanges(t *testing.T) {
	t.Run("mode changed while waiting", func(t *testing.T) {
		snap := longChat()
		now := at(16, 0) // due at 10:18:10
		if d := Decide(now, snap, ModeUnread, DefaultTimings); d.Outcome != Wait || !d.Due.Equal(at(18, 10)) {
			t.Fatalf("unread: %s %q", d.Outcome, d.Reason)
		}
		if d := Decide(now, snap, ModeOff, DefaultTimings); d.Outcome != Nothing || d.Code != CodeOff {
			t.Fatalf("off: %s %q", d.Outcome, d.Reason)
		}
		d := Decide(now, snap, ModeTranscript, DefaultTimings)
		if d.Outcome != Wait || !d.Due.Equal(at(18, 10)) {
			t.Fatalf("transcript: %s %q", d.Outcome, d.Reason)
		}
		d = Decide(d.Due, snap, ModeTranscript, DefaultTimings)
		if d.Outcome != Send || len(d.Messages) != 15 || d.Messages[0].ID != "p1" {
			t.Fatalf("transcript at due: %s, %v", d.Outcome, ids(d.Messages))
		}
	})
	t.Run("email set after the reply was written", func(t *testing.T) {
		snap := snapshot(chat()...)
		snap.VisitorEmail = ""
		now := at(80, 0)
		if d := Decide(now, snap, ModeUnread, DefaultTimings); d.Code != CodeNotIdentified {
			t.Fatalf("before: %s %q", d.Outcome, d.Reason)
		}
		snap.VisitorEmail = "sam@example.com"
		d := Decide(now, snap, ModeUnread, DefaultTimings)
		if d.Outcome != Send || !slices.Equal(d.Pending, []string{"r2"}) {
			t.Fatalf("after: %s %q %v", d.Outcome, d.Reason, d.Pending)
		}
	})
	t.Run("sent replies are not sent again", func(t *testing.T) {
		snap := snapshot(chat()...)
		d := Decide(at(42, 0), snap, ModeUnread, DefaultTimings)
		if d.Outcome != Send {
			t.Fatalf("first: %s %q", d.Outcome, d.Reason)
		}
		for i, m := range snap.Messages {
			if slices.Contains(d.Pending, m.ID) {
				snap.Messages[i].Forwarded = true
			}
		}
		if d := Decide(at(43, 0), snap, ModeUnread, DefaultTimings); d.Outcome != Nothing || d.Code != CodeNothingPending {
			t.Fatalf("second: %s %q", d.Outcome, d.Reason)
		}
	})
	t.Run("decide does not modify the snapshot", func(t *testing.T) {
		snap := snapshot(agentReply("r2", at(36, 0)), visitorMsg("v1", at(34, 0)))
		before := slices.Clone(snap.Messages)
		Decide(at(50, 0), snap, ModeUnread, DefaultTimings)
		if !slices.Equal(ids(snap.Messages), ids(before)) {
			t.Fatalf("messages reordered: %v", ids(snap.Messages))
		}
	})
}

func TestExplain(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	waiting := Decide(at(41, 0), snapshot(chat()...), ModeUnread, DefaultTimings)
	quiet := Decide(at(36, 10), with(snapshot(chat()...), func(s *Snapshot) { s.LeftAt = at(1, 0) }), ModeUnread, DefaultTimings)
	agents := Decide(at(30, 0), with(snapshot(chat()...), func(s *Snapshot) {
		s.AgentsAvailable, s.AgentsUnavailableSince = false, t0.Add(-20*time.Hour)
	}), ModeUnread, DefaultTimings)
	off := Decide(at(41, 0), snapshot(chat()...), ModeOff, DefaultTimings)
	tests := []struct {
		name string
		d    Decision
		loc  *time.Location
		want string
	}{
		{"utc", waiting, time.UTC, "waiting until 10:42:00, visitor left at 10:37:00"},
		{"nil is utc", waiting, nil, "waiting until 10:42:00, visitor left at 10:37:00"},
		{"other zone", waiting, cet, "waiting until 11:42:00, visitor left at 11:37:00"},
		{"quiet in other zone", quiet, cet, "waiting until 11:36:30, newest reply at 11:36:00, visitor left at 11:01:00"},
		{"another day shows the date", agents, cet, "waiting until 11:36:30, newest reply at 11:36:00, no agent available since Sun 1 Mar 15:00:00"},
		{"no times", off, cet, "not sent: email forwarding is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Explain(tt.loc); got != tt.want {
				t.Errorf("Explain = %q, want %q", got, tt.want)
			}
		})
	}
	if waiting.Reason != waiting.Explain(time.UTC) {
		t.Errorf("Reason %q differs from Explain(UTC) %q", waiting.Reason, waiting.Explain(time.UTC))
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Nothing: "nothing", Wait: "wait", Send: "send", 7: "Outcome(7)"} {
		if got := o.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(o), got, want)
		}
	}
	var d Decision
	if d.Outcome != Nothing {
		t.Error("the zero Decision is not Nothing")
	}
}
