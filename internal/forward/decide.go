package forward

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// Mode is the workspace setting email_forwarding.
type Mode string

// The values of the email_forwarding setting.
const (
	// ModeOff sends nothing; replies wait in the widget.
	ModeOff Mode = model.ForwardOff
	// ModeUnread emails pending replies with a few earlier messages as context
	// (a short conversation is sent whole). It is the default: the zero Mode means ModeUnread.
	ModeUnread Mode = model.ForwardUnread
	// ModeTranscript emails the whole conversation each time there are pending replies.
	ModeTranscript Mode = model.ForwardTranscript
)

// Timings are the forwarding delays (PARLEY_FORWARD_LEFT_AFTER, _IDLE_AFTER, _QUIET).
// A negative duration counts as zero.
type Timings struct {
	// LeftAfter is how long a visitor must have been gone before their replies are emailed.
	LeftAfter time.Duration
	// IdleAfter is how long a connected visitor must have been inactive.
	IdleAfter time.Duration
	// Quiet is how long to wait after the newest pending reply, so a burst becomes one email.
	Quiet time.Duration
}

// DefaultTimings are the defaults of spec/api.md.
var DefaultTimings = Timings{LeftAfter: 5 * time.Minute, IdleAfter: 30 * time.Minute, Quiet: 30 * time.Second}

// Message is one message of a conversation, as Decide and Compose need it.
type Message struct {
	ID         string
	AuthorKind string // model.AuthorVisitor, model.AuthorAgent or model.AuthorSystem
	AuthorName string // the agent's name for agent messages; unused for visitor messages
	Kind       string // model.KindReply, model.KindComment or model.KindEvent
	Body       string
	CreatedAt  time.Time
	Forwarded  bool // already part of a forwarded email (any forwarded status)
	// WrittenWhileOff: written while forwarding was off; never pending, shown as context only.
	WrittenWhileOff bool
	// Files are the message's attachments, listed as links in the email.
	Files []File
}

// File is an attachment of a message, as the email lists it.
type File struct {
	ID, Name string
}

// Public reports whether visitors see the message: a visitor message or an agent reply.
func (m Message) Public() bool {
	return m.Kind == model.KindReply && (m.AuthorKind == model.AuthorVisitor || m.AuthorKind == model.AuthorAgent)
}

// Snapshot is the state of one conversation that the forwarding rules read.
// Zero times mean unknown.
type Snapshot struct {
	ConversationID string
	Channel        string // model.ChannelWebsite, model.ChannelEmail, model.ChannelMessenger or model.ChannelInstagram

	VisitorEmail string // empty: the visitor is not identified
	VisitorName  string
	EmailStatus  string // model.EmailOK (or empty), model.EmailBouncing or model.EmailUnsubscribed
	// EmailSource and EmailChangedAt say what set EmailStatus ("unsubscribe",
	// "bounce") and when; empty and zero when unknown. The status belongs to
	// the address, shared by every visitor of the workspace with it.
	EmailSource    string
	EmailChangedAt time.Time

	Online       bool      // at least one open widget connection
	LeftAt       time.Time // when the last widget connection closed
	LastActiveAt time.Time // latest activity frame, visitor message or connection opening

	// ReadCursor is the created_at of the newest message the visitor has read; zero: none.
	// A message created at or before it counts as read.
	ReadCursor time.Time

	AgentsAvailable        bool      // some agent of the workspace is online or invisible
	AgentsUnavailableSince time.Time // when availability last turned false

	// Messages are all messages of the conversation, oldest first, comments and events included.
	Messages []Message
}

// Outcome is what the scheduler must do with a conversation.
type Outcome int

// The outcomes of Decide. The zero Outcome is Nothing.
const (
	// Nothing: no email now and no due time; Decision.Reason says why.
	Nothing Outcome = iota
	// Wait: pending replies will be emailed at Decision.Due unless an input changes first.
	Wait
	// Send: email Decision.Messages now and mark Decision.Pending forwarded.
	Send
)

// String returns "nothing", "wait" or "send".
func (o Outcome) String() string {
	switch o {
	case Nothing:
		return "nothing"
	case Wait:
		return "wait"
	case Send:
		return "send"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Code is the machine-readable reason of a Decision, stable for storage and the API.
type Code string

// The reason codes.
const (
	CodeDue            Code = "due"             // Send
	CodeWaiting        Code = "waiting"         // Wait
	CodeNotIdentified  Code = "not_identified"  // the visitor has no email address
	CodeOff            Code = "off"             // email forwarding is off (or set to an unknown mode)
	CodeNothingPending Code = "nothing_pending" // no pending reply
	CodeUnsubscribed   Code = "unsubscribed"    // the visitor's address is unsubscribed
	CodeBouncing       Code = "bouncing"        // the visitor's address is hard-bouncing
	CodeOtherChannel   Code = "other_channel"   // not a website conversation
)

// Trigger names the rule that set the trigger time of a Wait or Send decision.
type Trigger string

// The trigger rules. When two apply at the same instant the visitor's rule is named.
const (
	// TriggerLeft: the visitor is offline; Since is left_at and the trigger is Since + LeftAfter.
	TriggerLeft Trigger = "left"
	// TriggerOffline: the visitor is offline but left_at is unknown; Since is last_active_at
	// (zero when unknown too) and stands in for left_at.
	TriggerOffline Trigger = "offline"
	// TriggerIdle: the visitor is online; Since is last_active_at and the trigger is Since + IdleAfter.
	TriggerIdle Trigger = "idle"
	// TriggerAgentsUnavailable: no agent is available; Since is agents_unavailable_since
	// (zero when unknown) and is the trigger itself.
	TriggerAgentsUnavailable Trigger = "agents_unavailable"
)

// Decision is the outcome of Decide for one conversation at one instant.
type Decision struct {
	Outcome Outcome
	Code    Code
	// Reason is the human explanation with times as 15:04:05 in UTC, e.g.
	// "waiting until 10:42:00, visitor left at 10:37:00". Use Explain to render it in another zone.
	Reason string

	// Due is when the email is (Wait) or became (Send) due; zero for Nothing.
	Due time.Time
	// Messages are the public messages the email holds, oldest first (Send only).
	Messages []Message
	// Pending are the ids of the pending replies, oldest first (Wait and Send): the replies
	// the email carries, to be marked forwarded once it is in the outbox.
	Pending []string

	// The inputs behind Due (Wait and Send), kept so that Explain can re-render the reason.
	Trigger     Trigger   // the earliest trigger rule
	Since       time.Time // the time that rule starts from (see Trigger); zero: unknown
	NewestReply time.Time // created_at of the newest pending reply
	QuietDue    bool      // Due is NewestReply + Quiet, later than the trigger

	// Emailed (Nothing only): every unread reply went in an email already;
	// what the email's own state says (queued, sent, failed) stays.
	Emailed bool
}

// Decide applies the forwarding rules of spec/forwarding.md to a conversation at now.
//
// The checks run in this order, and the first that fails gives the reason: a website
// conversation, forwarding not off, an identified visitor, an address neither unsubscribed nor
// bouncing, at least one pending reply. Then
//
//	trigger = the earliest of  left_at + LeftAfter         if the visitor is offline
//	                           last_active_at + IdleAfter  if the visitor is online
//	                           agents_unavailable_since    if no agent is available
//	due     = max(trigger, newest pending reply's created_at + Quiet)
//
// and the outcome is Send when now >= due, Wait otherwise. Unknown (zero) times count as long
// ago, except that an offline visitor's unknown left_at falls back to last_active_at.
// Decide is pure: it depends only on its arguments.
func Decide(now time.Time, snap Snapshot, mode Mode, t Timings) Decision {
	switch snap.Channel {
	case model.ChannelWebsite:
	case model.ChannelMessenger:
		return nothing(CodeOtherChannel, "not sent: messenger conversations are answered on Messenger")
	case model.ChannelInstagram:
		return nothing(CodeOtherChannel, "not sent: instagram conversations are answered on Instagram")
	case model.ChannelEmail:
		return nothing(CodeOtherChannel, "not sent: email conversations are answered by email")
	case "":
		return nothing(CodeOtherChannel, "not sent: conversation channel unknown")
	default:
		return nothing(CodeOtherChannel, fmt.Sprintf("not sent: %s conversations are not emailed", snap.Channel))
	}
	switch mode {
	case "", ModeUnread, ModeTranscript:
	case ModeOff:
		return nothing(CodeOff, "not sent: email forwarding is off")
	default:
		return nothing(CodeOff, fmt.Sprintf("not sent: unknown email forwarding mode %q", string(mode)))
	}
	if strings.TrimSpace(snap.VisitorEmail) == "" {
		return nothing(CodeNotIdentified, "not sent: visitor not identified")
	}
	switch snap.EmailStatus {
	case model.EmailUnsubscribed:
		return nothing(CodeUnsubscribed, stoppedReason(snap))
	case model.EmailBouncing:
		return nothing(CodeBouncing, stoppedReason(snap))
	}

	msgs := snap.Messages
	if !slices.IsSortedFunc(msgs, byCreatedAt) {
		msgs = slices.Clone(msgs)
		slices.SortStableFunc(msgs, byCreatedAt)
	}
	first := -1 // index in msgs of the first pending reply
	var pending []string
	var newest time.Time
	forwardedUnread, offUnread := false, false
	for i, m := range msgs {
		if m.AuthorKind != model.AuthorAgent || m.Kind != model.KindReply || !m.CreatedAt.After(snap.ReadCursor) {
			continue
		}
		if m.Forwarded {
			forwardedUnread = true
			continue
		}
		if m.WrittenWhileOff {
			offUnread = true
			continue
		}
		if first < 0 {
			first = i
			pending = make([]string, 0, len(msgs)-i)
		}
		pending = append(pending, m.ID)
		if m.CreatedAt.After(newest) {
			newest = m.CreatedAt
		}
	}
	if first < 0 {
		if forwardedUnread {
			d := nothing(CodeNothingPending, "nothing to send: the unread replies were already emailed")
			d.Emailed = true
			return d
		}
		if offUnread {
			return nothing(CodeNothingPending, "nothing to send: the unread replies were written while forwarding was off")
		}
		return nothing(CodeNothingPending, "nothing unread")
	}

	d := Decision{Pending: pending, NewestReply: newest}
	trigger := d.trigger(snap, t)
	quietEnd := newest.Add(nonNegative(t.Quiet))
	d.Due = trigger
	if quietEnd.After(trigger) {
		d.Due, d.QuietDue = quietEnd, true
	}
	if now.Before(d.Due) {
		d.Outcome, d.Code = Wait, CodeWaiting
	} else {
		d.Outcome, d.Code = Send, CodeDue
		d.Messages = content(msgs, first, mode)
	}
	d.Reason = d.Explain(time.UTC)
	return d
}

// trigger sets d.Trigger and d.Since to the earliest trigger rule and returns its time.
func (d *Decision) trigger(snap Snapshot, t Timings) time.Time {
	var at time.Time
	switch {
	case snap.Online:
		d.Trigger, d.Since = TriggerIdle, snap.LastActiveAt
		at = sinceAdd(snap.LastActiveAt, t.IdleAfter)
	case !snap.LeftAt.IsZero():
		d.Trigger, d.Since = TriggerLeft, snap.LeftAt
		at = snap.LeftAt.Add(nonNegative(t.LeftAfter))
	default:
		d.Trigger, d.Since = TriggerOffline, snap.LastActiveAt
		at = sinceAdd(snap.LastActiveAt, t.LeftAfter)
	}
	if !snap.AgentsAvailable && snap.AgentsUnavailableSince.Before(at) {
		d.Trigger, d.Since = TriggerAgentsUnavailable, snap.AgentsUnavailableSince
		at = snap.AgentsUnavailableSince
	}
	return at
}

// sinceAdd is since + delay, where an unknown (zero) since stays the zero time: long ago.
func sinceAdd(since time.Time, delay time.Duration) time.Time {
	if since.IsZero() {
		return since
	}
	return since.Add(nonNegative(delay))
}

// content selects the public messages an email holds, given msgs sorted oldest first and the
// index of the first pending reply in it.
func content(msgs []Message, first int, mode Mode) []Message {
	const wholeUpTo, context = 10, 3
	public := 0
	publicBefore := 0 // public messages before the first pending reply
	for i, m := range msgs {
		if m.Public() {
			public++
			if i < first {
				publicBefore++
			}
		}
	}
	skip := 0
	if mode != ModeTranscript && public > wholeUpTo {
		skip = max(0, publicBefore-context)
	}
	out := make([]Message, 0, public-skip)
	for _, m := range msgs {
		if !m.Public() {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, m)
	}
	return out
}

// stoppedReason tells agents why an address gets nothing and how that ends,
// e.g. "not sent: vera@example.net unsubscribed (unsubscribe link of an
// email, 2 Jan 2026 14:05 UTC); the visitor can opt in again from the
// chat's contact form".
func stoppedReason(snap Snapshot) string {
	var b strings.Builder
	b.WriteString("not sent: ")
	b.WriteString(strings.TrimSpace(snap.VisitorEmail))
	if snap.EmailStatus == model.EmailUnsubscribed {
		b.WriteString(" unsubscribed")
	} else {
		b.WriteString(" bounced")
	}
	var how []string
	switch snap.EmailSource {
	case model.EmailStatusByUnsubscribe:
		how = append(how, "unsubscribe link of an email")
	case model.EmailStatusByBounce:
		how = append(how, "delivery failure report")
	}
	if !snap.EmailChangedAt.IsZero() {
		how = append(how, snap.EmailChangedAt.UTC().Format("2 Jan 2006 15:04 MST"))
	}
	if len(how) > 0 {
		b.WriteString(" (" + strings.Join(how, ", ") + ")")
	}
	b.WriteString("; the visitor can opt in again from the chat's contact form")
	return b.String()
}

func nothing(code Code, reason string) Decision {
	return Decision{Outcome: Nothing, Code: code, Reason: reason}
}

func byCreatedAt(a, b Message) int { return a.CreatedAt.Compare(b.CreatedAt) }

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }

// Explain renders the decision's reason with times in loc (nil: UTC), for the dashboard's
// "why no email yet". Wait and Send reasons are rebuilt from Due, Trigger, Since, NewestReply
// and QuietDue; the other reasons hold no time and are returned as they are.
// A time on another day than Due is shown with its date.
func (d Decision) Explain(loc *time.Location) string {
	if d.Code != CodeWaiting && d.Code != CodeDue {
		return d.Reason
	}
	if loc == nil {
		loc = time.UTC
	}
	due := d.Due.In(loc)
	clock := func(t time.Time) string {
		t = t.In(loc)
		if y, m, dd := t.Date(); y != due.Year() || m != due.Month() || dd != due.Day() {
			return t.Format("Mon 2 Jan 15:04:05")
		}
		return t.Format("15:04:05")
	}
	var b strings.Builder
	if d.Code == CodeWaiting {
		b.WriteString("waiting until ")
	} else {
		b.WriteString("due at ")
	}
	b.WriteString(due.Format("15:04:05"))
	if d.QuietDue {
		b.WriteString(", newest reply at ")
		b.WriteString(clock(d.NewestReply))
	}
	b.WriteString(", ")
	known := !d.Since.IsZero()
	switch d.Trigger {
	case TriggerLeft:
		b.WriteString("visitor left at ")
	case TriggerOffline:
		b.WriteString("visitor offline")
		if known {
			b.WriteString(", last active at ")
		}
	case TriggerIdle:
		if known {
			b.WriteString("visitor idle since ")
		} else {
			b.WriteString("visitor online, last activity unknown")
		}
	case TriggerAgentsUnavailable:
		b.WriteString("no agent available")
		if known {
			b.WriteString(" since ")
		}
	default:
		b.WriteString(string(d.Trigger))
		if known {
			b.WriteString(" since ")
		}
	}
	if known {
		b.WriteString(clock(d.Since))
	}
	return b.String()
}
