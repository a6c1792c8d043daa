// Package chat is Parley's domain: workspaces, agents, visitors,
// conversations, messages, settings and presence. Every state change goes
// through the Service, which writes it with the store, pushes it to open
// connections and asks the forwarding engine to look at the conversation
// again.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/mail/address"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
	"github.com/parleychat/parley/internal/webhook"
)

// MaxMessageLength is the longest message body, in characters.
const MaxMessageLength = 10000

// Evaluator is told which conversations to re-evaluate when an input of the
// forwarding decision changed. The forwarding engine implements it.
type Evaluator interface {
	ConversationChanged(ctx context.Context, conversationID string)
	// ConversationWritten is ConversationChanged with the conversation
	// (and its workspace, when not nil) as the transaction that changed
	// it read them, told from that transaction's after function
	// (store.DB.InTxThen): once it committed, in the order transactions
	// committed.
	ConversationWritten(c model.Conversation, w *model.Workspace)
	VisitorChanged(ctx context.Context, visitorID string)
	WorkspaceChanged(ctx context.Context, workspaceID string)
}

// ChannelSender delivers agent replies of Messenger and Instagram
// conversations through the platform's send API (never by email).
type ChannelSender interface {
	SendReply(ctx context.Context, conv model.Conversation, msg model.Message)
}

type noEvaluator struct{}

func (noEvaluator) ConversationChanged(context.Context, string)              {}
func (noEvaluator) ConversationWritten(model.Conversation, *model.Workspace) {}
func (noEvaluator) VisitorChanged(context.Context, string)                   {}
func (noEvaluator) WorkspaceChanged(context.Context, string)                 {}

// Options configure a Service.
type Options struct {
	// AgentAwayAfter: an agent whose last dashboard closed goes offline
	// after this long.
	AgentAwayAfter time.Duration
	// VisitorGrace: a widget reconnecting within this long (a page change)
	// is no leave.
	VisitorGrace time.Duration
	// NodeID names this process among the nodes sharing the database
	// (random when empty).
	NodeID string
	// NodeTimeout: a node whose heartbeat is older than this is dead and
	// its connections are closed.
	NodeTimeout time.Duration
	// AttachmentsDir is where older versions kept the files of email
	// replies; they are moved into the database at start.
	AttachmentsDir string
	// AttachmentQuota is the most bytes of files a workspace keeps
	// (1 GiB when 0).
	AttachmentQuota int64
	// MailFrom, InboundDomain and PublicURL are the server's addresses,
	// shown in the email previews of Settings; PublicURL is also the base
	// of the links to files.
	MailFrom, InboundDomain, PublicURL string
	// NoAddressLimits turns off the per-address and per-site limits on
	// visitors (PARLEY_RATE_LIMITS=off, for load tests).
	NoAddressLimits bool
	// WebhookAllowPrivate lets webhook URLs name loopback and private
	// addresses (PARLEY_WEBHOOK_ALLOW_PRIVATE=1).
	WebhookAllowPrivate bool
	// Resolver looks up webhook hosts (net.DefaultResolver when nil).
	Resolver webhook.Resolver
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger (slog.Default when nil).
	Logger *slog.Logger
	// Metrics counts messages and email outcomes (nil: not counted).
	Metrics *metrics.Metrics
}

// Service is the domain service.
type Service struct {
	db     *store.DB
	pub    realtime.Publisher
	signer *token.Signer
	eval   Evaluator
	chans  ChannelSender
	opts   Options
	// notices sends emails of no conversation (nil: logged only).
	notices NoticeSender

	ownDomains []string

	nodeRemoved func()
	hooksQueued func()
	log         *slog.Logger

	visitorLimits  *limiter
	emailByVisitor *limiter
	emailBySender  *limiter
	logins         loginLimits
	uploadLimits   *limiter // per visitor or agent
	typingLimits   *limiter // per visitor, per agent and conversation
	pageLimits     *limiter // per visitor
	contactLimits  *limiter // per visitor
	noticeLimits   *limiter // per workspace
	limits         *addressLimits

	mu          sync.Mutex
	leaveTimers map[string]*time.Timer // visitor → pending leave
	// presenceLocks serialise a visitor's presence changes on this node
	// (a leave being recorded, a reconnection), by a hash of the id.
	presenceLocks [64]sync.Mutex
	agentConns    map[string]int
	loggedOut     map[string]time.Time // agent → their last logout, while its connections close
	availCache    map[string]bool      // workspace → last published availability
	sessionKeys   *sessionKeys
	tokens        *kept[tokenAgent]    // by token hash
	sites         *kept[siteWorkspace] // by site key
	quotaNoted    map[string]time.Time // workspace → last note of a full quota
	handOuts      *handOutQueue        // handout.go
}

// New returns a Service.
func New(db *store.DB, pub realtime.Publisher, signer *token.Signer, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AgentAwayAfter <= 0 {
		opts.AgentAwayAfter = 2 * time.Minute
	}
	if opts.VisitorGrace <= 0 {
		opts.VisitorGrace = 3 * time.Second
	}
	if opts.AttachmentsDir == "" {
		opts.AttachmentsDir = filepath.Join("data", "attachments")
	}
	if opts.AttachmentQuota <= 0 {
		opts.AttachmentQuota = 1 << 30
	}
	if opts.NodeID == "" {
		opts.NodeID = model.NewID()
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = 15 * time.Second
	}
	return &Service{
		db: db, pub: pub, signer: signer, eval: noEvaluator{}, opts: opts, log: opts.Logger,
		ownDomains: ownDomains(opts),
		// A visitor may write 10 messages in a burst, then one a second.
		visitorLimits: newLimiter(1, 10),
		// Email replies: 5 in a burst, then one a minute per visitor, and
		// 10 then one a minute per sender address, whatever conversations
		// its tokens name.
		emailByVisitor: newLimiter(1.0/60, 5),
		emailBySender:  newLimiter(1.0/60, 10),
		logins:         newLoginLimits(),
		uploadLimits:   newLimiter(uploadsPerSecond, uploadBurst),
		typingLimits:   newLimiter(typingPerSecond, typingBurst),
		// Page frames: 20 in a burst (a quick walk through a site), then
		// one a second.
		pageLimits: newLimiter(1, 20),
		// Contact forms: 5 in a burst, then one a minute per visitor: a
		// changed address emails the former one (a notice).
		contactLimits: newLimiter(1.0/60, 5),
		// Notices (address changes, opt-in confirmations), which a
		// stranger's forms make Parley send to addresses they type: 50
		// in a burst, then 50 an hour per workspace.
		noticeLimits: newLimiter(50.0/3600, 50),
		limits:       newAddressLimits(opts.NoAddressLimits),
		leaveTimers:  map[string]*time.Timer{},
		agentConns:   map[string]int{},
		loggedOut:    map[string]time.Time{},
		availCache:   map[string]bool{},
		sessionKeys:  newSessionKeys(),
		tokens:       newKept[tokenAgent](),
		sites:        newKept[siteWorkspace](),
		handOuts:     newHandOutQueue(),
	}
}

// SetEvaluator connects the forwarding engine.
func (s *Service) SetEvaluator(e Evaluator) { s.eval = e }

// OnNodeRemoved sets what runs after a dead node was forgotten and the
// emails it had claimed were released (wake the outbox).
func (s *Service) OnNodeRemoved(f func()) { s.nodeRemoved = f }

// SetChannelSender connects the Messenger/Instagram channels.
func (s *Service) SetChannelSender(c ChannelSender) { s.chans = c }

// NodeID names this process among the nodes sharing the database.
func (s *Service) NodeID() string { return s.opts.NodeID }

// Signer exposes the token signer.
func (s *Service) Signer() *token.Signer { return s.signer }

// now is the clock at the store's precision (microseconds), so a message
// reads the same when created and when read back.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// notFound maps a store miss to the domain's not_found.
func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Code: CodeNotFound, Message: what + " not found", Err: err}
	}
	return err
}

// Event is what agents' connections receive.
type Event = realtime.Event

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are encoded here; failing is a programming error.
		panic(fmt.Sprintf("encode frame: %v", err))
	}
	return b
}

// assignedBy tells the agents that by changed the assignee of c: a
// conversation.updated that names who did it (see realtime.Event.By).
func (s *Service) assignedBy(workspaceID string, c model.Conversation, by string) {
	s.pub.ToAgents(workspaceID, encode(Event{Type: realtime.ConversationUpdated, Data: c, By: by}))
}

// updatedAfter tells the agents of c after agent by wrote in it: by took
// it when it was unassigned before and is its assignee now (a colleague's
// reply at the same moment may have taken it: not by's doing).
func (s *Service) updatedAfter(workspaceID string, c model.Conversation, unassignedBefore bool, by string) {
	if unassignedBefore && c.Assignee != nil && c.Assignee.ID == by {
		s.assignedBy(workspaceID, c, by)
		return
	}
	s.toAgents(workspaceID, realtime.ConversationUpdated, c)
}

// sendAgain tells the agents of messages that changed, read again whole,
// with their files: a copy without them would take them off the screens
// it replaces the message on. It returns the messages told.
func (s *Service) sendAgain(ctx context.Context, workspaceID string, ids []string) []model.Message {
	msgs, err := s.db.MessagesWithFiles(ctx, workspaceID, ids)
	if err != nil {
		s.log.Error("read changed messages to send them again", "workspace", workspaceID, "messages", len(ids), "err", err)
	}
	for _, m := range msgs {
		s.toAgents(workspaceID, realtime.MessageUpdated, m)
	}
	return msgs
}

func (s *Service) toAgents(workspaceID string, typ realtime.EventType, data any) {
	switch d := data.(type) {
	case model.Message:
		data = messageURLs(d, s.opts.PublicURL, agentURLs)
	case model.Agent:
		data = s.WithAvatar(d)
	}
	s.pub.ToAgents(workspaceID, encode(Event{Type: typ, Data: data}))
	// Every new message is announced to the agents once, here, whatever
	// its channel: the one place to count it. System events are not
	// messages anyone wrote.
	if m, ok := data.(model.Message); ok && typ == realtime.MessageCreated && m.Kind != model.KindEvent {
		s.opts.Metrics.MessageCreated(m.Channel)
	}
}

// messageFrame is the widget's frame for a public message.
func (s *Service) messageFrame(m model.Message) []byte {
	return encode(struct {
		Type    realtime.FrameType `json:"type"`
		Message model.Message      `json:"message"`
	}{realtime.FrameMessage, messageURLs(m, s.opts.PublicURL, visitorURLs)})
}

// ValidateEmail checks an address typed by a person and returns it
// normalised (trimmed, domain lower-cased): address.Validate, the one check
// every address that enters Parley goes through, with the domain's error.
func ValidateEmail(raw string) (string, error) {
	addr, err := address.Validate(raw)
	if err != nil {
		return "", &Error{Code: CodeInvalidEmail, Message: "that email address does not look right", Err: err}
	}
	return addr, nil
}

// checkBody validates a message body.
func checkBody(body string) (string, error) {
	if !utf8.ValidString(body) {
		return "", newError(CodeBadRequest, "message is not valid UTF-8")
	}
	if utf8.RuneCountInString(body) > MaxMessageLength {
		return "", newError(CodeMessageTooLong, fmt.Sprintf("a message is at most %d characters", MaxMessageLength))
	}
	if strings.TrimSpace(body) == "" {
		return "", newError(CodeEmptyMessage, "message is empty")
	}
	return body, nil
}

func cleanName(raw string) (*string, error) {
	if !utf8.ValidString(raw) {
		return nil, newError(CodeBadRequest, "name is not valid UTF-8")
	}
	name := oneLine(raw)
	if utf8.RuneCountInString(name) > 200 {
		return nil, newError(CodeBadRequest, "name is at most 200 characters")
	}
	if name == "" {
		return nil, nil
	}
	return &name, nil
}

// workspaceName is a workspace's name as it is kept (oneLine), or why
// it cannot be one.
func workspaceName(raw string) (string, error) {
	n := oneLine(raw)
	switch {
	case n == "":
		return "", newError(CodeBadRequest, "a workspace name cannot be blank")
	case utf8.RuneCountInString(n) > 100:
		return "", newError(CodeBadRequest, "a workspace name has at most 100 characters")
	}
	return n, nil
}

// oneLine is a name as it is kept and shown: every run of control
// characters, line and paragraph separators (a line break, a tab) is one
// space, and the bidirectional embeddings, overrides and isolates, which
// make a name read as other text (in the dashboard, the widget, an email's
// greeting), are dropped with the zero-width space (disguisesName); the
// joiners and marks that scripts need stay. Spaces at either end are
// trimmed.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return breaksLine(r) || disguisesName(r) }) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case disguisesName(r):
		case breaksLine(r):
			space = true
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

func breaksLine(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp) }

// disguisesName reports what makes a name read as another: the
// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069), and the invisible zero-width space, word joiner and byte
// order mark ("Al\u200bice" for "Alice").
func disguisesName(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200B || r == 0x2060 || r == 0xFEFF
}
