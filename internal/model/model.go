// Package model holds the plain data types shared by the domain, the store and
// the web layer. Their JSON form is the public contract of spec/api.md.
package model

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Channels a conversation can come from.
const (
	ChannelWebsite   = "website"
	ChannelEmail     = "email"
	ChannelMessenger = "messenger"
	ChannelInstagram = "instagram"
)

// Message channels (where a message was written).
const (
	MsgChannelWidget    = "widget"
	MsgChannelEmail     = "email"
	MsgChannelDashboard = "dashboard"
)

// Author kinds and message kinds.
const (
	AuthorVisitor = "visitor"
	AuthorAgent   = "agent"
	AuthorSystem  = "system"

	KindReply   = "reply"
	KindComment = "comment"
	KindEvent   = "event"
)

// Agent statuses.
const (
	StatusOnline    = "online"
	StatusInvisible = "invisible"
	StatusOffline   = "offline"
)

// Email statuses of a visitor's address.
const (
	EmailOK           = "ok"
	EmailBouncing     = "bouncing"
	EmailUnsubscribed = "unsubscribed"
)

// What last changed the email status of an address (Visitor.EmailStatusSource).
const (
	EmailStatusByUnsubscribe = "unsubscribe" // the one-click link of a forwarded email
	EmailStatusByBounce      = "bounce"      // a delivery status notification
	EmailStatusByOptIn       = "opt_in"      // the visitor ticked the opt-in box of the contact form
)

// EmailKey is the form under which an address's email status is kept: an
// unsubscribe of Vera@Example.NET covers vera@example.net. Local parts are
// case-sensitive in theory (RFC 5321) and never in practice; honouring an
// unsubscribe for a differently cased address is the safe side.
func EmailKey(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// Forwarding modes (Settings.EmailForwarding).
const (
	ForwardOff        = "off"
	ForwardUnread     = "unread"
	ForwardTranscript = "transcript"
)

// Workspace is a tenant: one website's chat with its agents and settings.
type Workspace struct {
	ID                     string     `json:"id"`
	Name                   string     `json:"name"`
	SiteKey                string     `json:"site_key"`
	TimeZone               string     `json:"time_zone"`
	Settings               Settings   `json:"-"`
	AgentsUnavailableSince *time.Time `json:"-"`
	CreatedAt              time.Time  `json:"created_at"`
}

// locations caches loaded time zones by name: time.LoadLocation reads and
// parses the zone's data on every call.
var locations sync.Map // name → *time.Location

// Location returns the workspace's time zone, loaded once per name; an
// empty or unknown name is UTC.
func (w Workspace) Location() *time.Location {
	if l, ok := locations.Load(w.TimeZone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		l = time.UTC
	}
	locations.Store(w.TimeZone, l)
	return l
}

// Settings are a workspace's preferences. WorkspaceName and TimeZone mirror
// the workspace's Name and TimeZone.
type Settings struct {
	WorkspaceName   string      `json:"workspace_name"`
	TimeZone        string      `json:"time_zone"`
	EmailForwarding string      `json:"email_forwarding"`
	ContactForm     ContactForm `json:"contact_form"`
	// IdentityVerification refuses a widget identity without a valid hash.
	IdentityVerification bool `json:"identity_verification"`
	// RetentionDays: closed conversations are deleted this many days
	// after they were closed (0 keeps them for ever).
	RetentionDays int `json:"retention_days"`
	// TypingPreview shows agents what a visitor is typing before it is
	// sent; off, agents only see that the visitor is typing.
	TypingPreview bool `json:"typing_preview"`
	// Widget is the widget's look and words.
	Widget WidgetLook `json:"widget"`
	// DefaultLocale is the language spoken to visitors whose own is not
	// known or not one Parley speaks.
	DefaultLocale string `json:"default_locale"`
	// AutoAssign gives a conversation nobody has, when its visitor writes,
	// to the online agent with the fewest open ones.
	AutoAssign bool `json:"auto_assign"`
	// AutoAssignLimit is how many open conversations automatic
	// assignment gives an agent at most (0: no limit).
	AutoAssignLimit int `json:"auto_assign_limit"`
}

// Widget positions (WidgetLook.Position).
const (
	WidgetRight = "right"
	WidgetLeft  = "left"
)

// DefaultWidgetColor is the widget's colour until a workspace picks one.
const DefaultWidgetColor = "#2563eb"

// WidgetLook is the widget part of Settings. An empty Greeting or
// AwayMessage is the default wording in the visitor's language.
type WidgetLook struct {
	Color       string `json:"color"`
	Position    string `json:"position"`
	Greeting    string `json:"greeting"`
	AwayMessage string `json:"away_message"`
}

// ContactForm is the contact-form part of Settings.
type ContactForm struct {
	OfflineRequiresForm bool   `json:"offline_requires_form"`
	Online              string `json:"online"`
}

// DefaultSettings are those of a new workspace.
func DefaultSettings() Settings {
	return Settings{
		EmailForwarding: ForwardUnread,
		ContactForm:     ContactForm{OfflineRequiresForm: true, Online: "optional"},
		TypingPreview:   true,
		Widget:          WidgetLook{Color: DefaultWidgetColor, Position: WidgetRight},
		DefaultLocale:   "en",
	}
}

// Agent roles: an admin manages settings, channels and agents.
const (
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// Where an agent's status comes from: the agent's own choice, or the away
// timer that set them offline after their last dashboard closed.
const (
	StatusSourceAgent     = "agent"
	StatusSourceAwayTimer = "away_timer"
)

// Agent is a person answering in the dashboard. Its JSON form is the
// contract's Agent.
type Agent struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"-"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Role        string `json:"role"`
	Status      string `json:"status"`
	// StatusSource says whether Status is the agent's choice or the away
	// timer's offline.
	StatusSource string `json:"status_source"`
	// AvatarURL is the address of the agent's picture, null when they have
	// none (the widget and dashboard then show their initials). AvatarID
	// names the stored picture; the service turns it into AvatarURL.
	AvatarURL *string `json:"avatar_url"`
	AvatarID  string  `json:"-"`
	// ChosenStatus is the status the agent last chose, given back when the
	// away timer had set them offline and a dashboard connects again.
	ChosenStatus   string     `json:"-"`
	PasswordHash   string     `json:"-"`
	DisconnectedAt *time.Time `json:"-"`
	CreatedAt      time.Time  `json:"-"`
}

// IsAdmin reports whether the agent may manage the workspace.
func (a Agent) IsAdmin() bool { return a.Role == RoleAdmin }

// Invited reports whether the agent has not yet set a password (their
// invitation is pending).
func (a Agent) Invited() bool { return a.PasswordHash == "" }

// Available reports whether the agent counts as available to visitors.
func (a Agent) Available() bool {
	return a.Status == StatusOnline || a.Status == StatusInvisible
}

// VisitorKey is what names a visitor and its credential: all a widget's
// connection needs of it.
type VisitorKey struct {
	ID, WorkspaceID string
	// TokenGeneration is as in Visitor.
	TokenGeneration int
	// LastActiveAt is as in Visitor when the key was read: a connection
	// opening on a page change records activity only when it is older.
	LastActiveAt *time.Time
}

// Key is the visitor's VisitorKey.
func (v Visitor) Key() VisitorKey {
	return VisitorKey{ID: v.ID, WorkspaceID: v.WorkspaceID, TokenGeneration: v.TokenGeneration, LastActiveAt: v.LastActiveAt}
}

// Visitor is a person on the website (or on another channel).
type Visitor struct {
	ID          string  `json:"id"`
	WorkspaceID string  `json:"-"`
	Name        *string `json:"name"`
	Email       *string `json:"email"`
	// EmailSource says how the email was learned (EmailFrom… constants);
	// nil when unknown or there is no email.
	EmailSource  *string    `json:"email_source"`
	Online       bool       `json:"online"`
	LeftAt       *time.Time `json:"left_at"`
	LastActiveAt *time.Time `json:"last_active_at"`
	EmailStatus  string     `json:"email_status"`
	// UserID is the site's id of a visitor identified by a verified
	// identity; nil for everyone else.
	UserID *string `json:"user_id,omitempty"`
	// EmailStatusSource and EmailStatusChangedAt say what made the address
	// unsubscribed or bouncing (or ok again) and when; absent while nothing
	// did. The status belongs to the address in the workspace, shared by
	// every visitor with that address.
	EmailStatusSource    string     `json:"email_status_source,omitempty"`
	EmailStatusChangedAt *time.Time `json:"email_status_changed_at,omitempty"`
	EmailStatusDetail    string     `json:"-"`
	CreatedAt            time.Time  `json:"-"`
	// Language is the language the widget speaks to the visitor (one of
	// i18n.Languages), kept for the emails; "" until the widget started.
	Language string `json:"-"`
	VisitorContext
	// TokenGeneration is the generation of the visitor's credential:
	// resetting the visitor's links increments it, and only tokens and
	// continue links of the current generation are accepted.
	TokenGeneration int `json:"-"`
}

// VisitorContext is what the widget tells about a visitor: their language
// (BCP 47) and IANA time zone, the page they are on, the site that sent
// them, and the browser and operating system read from the User-Agent.
// Each is nil while unknown. All of it comes from the visitor's browser:
// it is shown escaped and never trusted.
type VisitorContext struct {
	Locale   *string `json:"locale"`
	TimeZone *string `json:"time_zone"`
	Page     *Page   `json:"page"`
	Referrer *string `json:"referrer"`
	Browser  *string `json:"browser"`
	OS       *string `json:"os"`
}

// Page is a page of the site a visitor was on, and when they arrived.
type Page struct {
	URL   string    `json:"url"`
	Title string    `json:"title"`
	At    time.Time `json:"at"`
}

// How a visitor's email was learned (Visitor.EmailSource).
const (
	EmailFromContactForm  = "contact_form"
	EmailFromAgent        = "agent"
	EmailFromConversation = "conversation"
	EmailFromIdentity     = "identity"
)

// Verified reports whether the visitor was identified by a verified
// identity: their email is the site's, not the contact form's.
func (v Visitor) Verified() bool { return v.UserID != nil }

// HasEmail reports whether the visitor is identified.
func (v Visitor) HasEmail() bool { return v.Email != nil && *v.Email != "" }

// A visitor with neither a name nor an email is named by a label:
// LabelWord and the last LabelChars characters of their id ("Visitor
// kauc"), in the dashboard and as search finds them.
const (
	LabelWord  = "Visitor"
	LabelChars = 4
)

// VisitorLabel is the label of the visitor with this id.
func VisitorLabel(id string) string {
	if len(id) > LabelChars {
		id = id[len(id)-LabelChars:]
	}
	return LabelWord + " " + id
}

// Conversation is a thread between a visitor and the workspace's agents.
type Conversation struct {
	ID            string    `json:"id"`
	WorkspaceID   string    `json:"-"`
	Status        string    `json:"status"`
	Channel       string    `json:"channel"`
	Visitor       Visitor   `json:"visitor"`
	CreatedAt     time.Time `json:"created_at"`
	LastMessageAt time.Time `json:"last_message_at"`
	// Unread counts visitor messages no agent has seen yet (dashboard marker).
	Unread int `json:"unread"`
	// VisitorReadID is the visitor's read cursor (newest message seen).
	VisitorReadID *string `json:"-"`
	AgentReadID   *string `json:"-"`
	// LastMessage is a preview of the newest public message, for lists.
	LastMessage *string `json:"last_message,omitempty"`
	// Forwarding is the forwarding engine's last decision, when it made one.
	Forwarding *Forwarding `json:"forwarding,omitempty"`
	// Assignee is the agent the conversation is assigned to; nil: nobody.
	Assignee *Assignee `json:"assignee"`
	// Tags are the conversation's tags, sorted without regard to case.
	Tags Tags `json:"tags"`
	// ActivityID is the id of the newest message (the conversation's own id
	// while it has none): the list's sort key.
	ActivityID string `json:"-"`
}

// Assignee names the agent a conversation is assigned to.
type Assignee struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AssignableAgent is an agent as the assign menus show them: with their
// status, so that nobody gives a conversation to an agent who is away
// without knowing.
type AssignableAgent struct {
	ID, Name string
	Status   string // StatusOnline, StatusInvisible or StatusOffline
}

// CannedReply is a body an agent inserts by its shortcut.
type CannedReply struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"-"`
	Shortcut    string    `json:"shortcut"`
	Body        string    `json:"body"`
	CreatedBy   *string   `json:"-"`
	CreatedAt   time.Time `json:"-"`
	UpdatedAt   time.Time `json:"-"`
}

// Forwarding explains whether and when the conversation's unread replies
// are emailed ("email due at 14:05 — visitor left at 14:00").
type Forwarding struct {
	Code   string     `json:"code"`
	Reason string     `json:"reason"`
	DueAt  *time.Time `json:"due_at"`
}

// Author identifies who wrote a message.
type Author struct {
	Kind string  `json:"kind"`
	ID   *string `json:"id"`
	Name *string `json:"name"`
	// AvatarURL is the picture of an agent author who has one; absent
	// otherwise.
	AvatarURL *string `json:"avatar_url,omitempty"`
}

// Forwarded records that an agent reply was part of a forwarded email.
type Forwarded struct {
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Status string    `json:"status"`
}

// Message is one entry of a conversation.
type Message struct {
	ID              string     `json:"id"`
	WorkspaceID     string     `json:"-"`
	ConversationID  string     `json:"conversation_id"`
	Author          Author     `json:"author"`
	Kind            string     `json:"kind"`
	Channel         string     `json:"channel"`
	Body            string     `json:"body"`
	ClientID        *string    `json:"client_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	ReadByVisitorAt *time.Time `json:"read_by_visitor_at"`
	Forwarded       *Forwarded `json:"forwarded"`
	// ForwardOff: the reply was written while the workspace's email
	// forwarding was off, so it is never emailed.
	ForwardOff bool `json:"-"`
	// AsksEmail marks an agent reply asking the visitor for their email:
	// the widget shows an email field under it while the visitor has none.
	AsksEmail bool `json:"asks_email,omitempty"`
	// Attachments are the files sent with the message.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Delivery is the Messenger/Instagram side of the message (nil for
	// website and email messages).
	Delivery *ChannelDelivery `json:"delivery,omitempty"`
	// MayHoldQuote flags an email answer whose text was kept whole because
	// no quote marker was found, although it ends like an older message:
	// its original may show what is quoted.
	MayHoldQuote bool `json:"may_hold_quote,omitempty"`
}

// EmailOriginal is the whole text of an email answer, kept beside the
// message that holds only its new text.
type EmailOriginal struct {
	MessageID      string `json:"message_id"`
	WorkspaceID    string `json:"-"`
	ConversationID string `json:"conversation_id"`
	MayHoldQuote   bool   `json:"may_hold_quote"`
	Subject        string `json:"subject"`
	Text           string `json:"text"`
}

// Attachment is a file that came with a message.
type Attachment struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"-"`
	MessageID   string `json:"-"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// URL downloads the file: the agent API's or the widget API's (the
	// widget adds its visitor token), depending on who receives it.
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"-"`
}

// Public reports whether visitors may see the message.
func (m Message) Public() bool { return m.Kind == KindReply }

var idState struct {
	sync.Mutex
	last int64
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a new opaque id. Ids sort by creation time (microseconds,
// strictly increasing within a process) and carry 64 random bits.
func NewID() string {
	idState.Lock()
	now := time.Now().UnixMicro()
	if now <= idState.last {
		now = idState.last + 1
	}
	idState.last = now
	idState.Unlock()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now))
	_, _ = rand.Read(b[8:])
	return idEncoding.EncodeToString(b[:])
}

// APIToken is a bearer token an agent made for an integration, as listed
// (its secret is shown once, when it is made). ExpiresAt is nil for a
// token that does not expire.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}
