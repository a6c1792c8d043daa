package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/webhook"
)

// CodeForbiddenURL refuses a webhook URL that points inside the network,
// carries credentials or is not http(s).
const CodeForbiddenURL = "forbidden_url"

// MaxWebhooks is how many webhooks a workspace may have.
const MaxWebhooks = 20

// Webhook is a webhook as admins see it (the secret only once, at
// creation).
type Webhook struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason *string    `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since"`
	Pending        int        `json:"pending"`
}

// WebhookAttempt is one logged delivery attempt.
type WebhookAttempt = store.WebhookAttempt

func webhookOf(w store.Webhook, pending int) Webhook {
	out := Webhook{ID: w.ID, URL: w.URL, Events: w.Events, CreatedAt: w.CreatedAt, DisabledAt: w.DisabledAt,
		FailingSince: w.FailingSince, Pending: pending}
	if out.Events == nil {
		out.Events = []string{}
	}
	if w.DisabledReason != "" {
		r := w.DisabledReason
		out.DisabledReason = &r
	}
	return out
}

// Webhooks lists the workspace's webhooks (admins).
func (s *Service) Webhooks(ctx context.Context, a model.Agent) ([]Webhook, error) {
	if err := RequireAdmin(a); err != nil {
		return nil, err
	}
	ws, err := s.db.Webhooks(ctx, a.WorkspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(ws))
	for _, w := range ws {
		n, err := s.db.PendingWebhookDeliveries(ctx, w.ID, s.now())
		if err != nil {
			return nil, err
		}
		out = append(out, webhookOf(w, n))
	}
	return out, nil
}

// CreateWebhook registers a webhook (admins) and returns it with its
// signing secret, shown only now. The URL is refused (forbidden_url) when
// it could reach inside the network (see package webhook).
func (s *Service) CreateWebhook(ctx context.Context, a model.Agent, rawURL string, events []string) (Webhook, string, error) {
	if err := RequireAdmin(a); err != nil {
		return Webhook{}, "", err
	}
	if len(events) == 0 {
		return Webhook{}, "", newError(CodeBadRequest, "events lists at least one event type")
	}
	var evs []string
	for _, e := range events {
		if !slices.Contains(realtime.WebhookEvents, realtime.EventType(e)) {
			return Webhook{}, "", newError(CodeBadRequest, fmt.Sprintf("unknown event %q: events are %s", e, webhookEventList()))
		}
		if !slices.Contains(evs, e) {
			evs = append(evs, e)
		}
	}
	u, err := webhook.ValidateURL(ctx, rawURL, s.opts.WebhookAllowPrivate, s.opts.Resolver)
	if err != nil {
		return Webhook{}, "", &Error{Code: CodeForbiddenURL, Message: strings.TrimPrefix(err.Error(), webhook.ErrForbidden.Error()+": "), Err: err}
	}
	existing, err := s.db.Webhooks(ctx, a.WorkspaceID)
	if err != nil {
		return Webhook{}, "", err
	}
	if len(existing) >= MaxWebhooks {
		return Webhook{}, "", newError(CodeBadRequest, fmt.Sprintf("a workspace has at most %d webhooks", MaxWebhooks))
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Webhook{}, "", fmt.Errorf("webhook secret: %w", err)
	}
	secret := "whsec_" + hex.EncodeToString(raw[:])
	w := store.Webhook{ID: model.NewID(), WorkspaceID: a.WorkspaceID, URL: u, Events: evs, Secret: secret, CreatedAt: s.now()}
	if err := s.db.CreateWebhook(ctx, w); err != nil {
		return Webhook{}, "", err
	}
	s.log.Info("webhook created", "webhook", w.ID, "workspace", a.WorkspaceID, "agent", a.ID, "events", strings.Join(evs, " "))
	return webhookOf(w, 0), secret, nil
}

func webhookEventList() string {
	names := make([]string, len(realtime.WebhookEvents))
	for i, e := range realtime.WebhookEvents {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// DeleteWebhook removes a webhook with its pending deliveries (admins).
func (s *Service) DeleteWebhook(ctx context.Context, a model.Agent, id string) error {
	if err := RequireAdmin(a); err != nil {
		return err
	}
	if err := s.db.DeleteWebhook(ctx, a.WorkspaceID, id); err != nil {
		return notFound(err, "webhook")
	}
	s.log.Info("webhook deleted", "webhook", id, "workspace", a.WorkspaceID, "agent", a.ID)
	return nil
}

// EnableWebhook enables a disabled webhook again (admins); its pending
// deliveries go out at once, in order, but for those of events older than
// store.WebhookKeptWhileDisabled, dropped.
func (s *Service) EnableWebhook(ctx context.Context, a model.Agent, id string) error {
	if err := RequireAdmin(a); err != nil {
		return err
	}
	if err := s.db.EnableWebhook(ctx, a.WorkspaceID, id, s.now()); err != nil {
		return notFound(err, "webhook")
	}
	s.kickHooks()
	return nil
}

// WebhookAttempts returns the last attempts of a webhook, newest first
// (admins).
func (s *Service) WebhookAttempts(ctx context.Context, a model.Agent, id string) ([]WebhookAttempt, error) {
	if err := RequireAdmin(a); err != nil {
		return nil, err
	}
	if _, err := s.db.Webhook(ctx, a.WorkspaceID, id); err != nil {
		return nil, notFound(err, "webhook")
	}
	return s.db.WebhookAttempts(ctx, id)
}

// WebhookDisabled tells the workspace's dashboards that a webhook was
// disabled (the deliverer calls it).
func (s *Service) WebhookDisabled(_ context.Context, workspaceID, webhookID string) {
	s.toAgents(workspaceID, realtime.WebhookDisabled, map[string]string{"id": webhookID})
}

// OnWebhookQueued sets what runs after events were queued for webhooks
// (wake the deliverer).
func (s *Service) OnWebhookQueued(f func()) { s.hooksQueued = f }

func (s *Service) kickHooks() {
	if s.hooksQueued != nil {
		s.hooksQueued()
	}
}

// webhookBody is the JSON a delivery POSTs.
type webhookBody struct {
	ID        string             `json:"id"`
	Type      realtime.EventType `json:"type"`
	CreatedAt time.Time          `json:"created_at"`
	Data      any                `json:"data"`
}

// hookBatch queues the webhook events of one change, in its transaction,
// and wakes the deliverer once the change is committed (done).
type hookBatch struct {
	s      *Service
	queued bool
	// subs holds, by workspace, the events columns of its webhooks
	// (enabled or not: a disabled one's events wait for it) as the
	// change's transaction read them: most workspaces have none, and
	// their changes then encode and write nothing.
	subs map[string][]string
}

func (s *Service) hooks() *hookBatch { return &hookBatch{s: s} }

// emit queues an event about a conversation for the webhooks that
// subscribe to it. st is the change's transaction (or the database when
// the change was one statement).
func (h *hookBatch) emit(ctx context.Context, st *store.Store, workspaceID, conversationID string, typ realtime.EventType, data any) error {
	subscribed, err := h.subscribed(ctx, st, workspaceID, typ)
	if err != nil || !subscribed {
		return err
	}
	at := h.s.now()
	id := model.NewID()
	body := encode(webhookBody{ID: id, Type: typ, CreatedAt: at, Data: data})
	q, err := st.QueueWebhookEvent(ctx, workspaceID, conversationID, id, string(typ), body, at)
	if err != nil {
		return err
	}
	h.queued = h.queued || q
	return nil
}

// emitNotes queues message.created for each system note (nil: none) of
// the change, in order, in its transaction tx.
func (h *hookBatch) emitNotes(ctx context.Context, tx *store.Store, notes ...*model.Message) error {
	for _, n := range notes {
		if n == nil {
			continue
		}
		if err := h.emit(ctx, tx, n.WorkspaceID, n.ConversationID, realtime.MessageCreated, *n); err != nil {
			return err
		}
	}
	return nil
}

// saveNote stores a system note on its own, with its message.created for
// the webhooks in the same transaction.
func (s *Service) saveNote(ctx context.Context, h *hookBatch, n model.Message) error {
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		if err := tx.CreateMessage(ctx, n); err != nil {
			return err
		}
		return h.emitNotes(ctx, tx, &n)
	})
	if err != nil {
		return fmt.Errorf("save note in %s: %w", n.ConversationID, err)
	}
	return nil
}

// subscribed reports whether a webhook of the workspace, enabled or not,
// takes events of type typ.
func (h *hookBatch) subscribed(ctx context.Context, st *store.Store, workspaceID string, typ realtime.EventType) (bool, error) {
	evs, ok := h.subs[workspaceID]
	if !ok {
		var err error
		if evs, err = st.WebhookSubscriptions(ctx, workspaceID); err != nil {
			return false, err
		}
		if h.subs == nil {
			h.subs = map[string][]string{}
		}
		h.subs[workspaceID] = evs
	}
	for _, ev := range evs {
		if strings.Contains(ev, " "+string(typ)+" ") {
			return true, nil
		}
	}
	return false, nil
}

// none records that the workspace has no webhook, as read in the
// change's transaction: its events are not looked for again.
func (h *hookBatch) none(workspaceID string) {
	if h.subs == nil {
		h.subs = map[string][]string{}
	}
	h.subs[workspaceID] = nil
}

// done wakes the deliverer if anything was queued.
func (h *hookBatch) done() {
	if h.queued {
		h.s.kickHooks()
	}
}

// EmailEvent is the data of email.sent and email.bounced.
type EmailEvent struct {
	EmailID        string  `json:"email_id"`
	ConversationID string  `json:"conversation_id"`
	To             string  `json:"to"`
	Status         string  `json:"status"`
	Error          *string `json:"error"`
}

// emailEvent is the data of an email's event; why (the failure) may be
// empty.
func emailEvent(emailID, conversationID, to, status, why string) EmailEvent {
	ev := EmailEvent{EmailID: emailID, ConversationID: conversationID, To: to, Status: status}
	if why != "" {
		ev.Error = &why
	}
	return ev
}

// emitEmail queues an email's event on its own (a bounce that came back
// by mail; the outbox's outcomes queue theirs with them).
func (s *Service) emitEmail(ctx context.Context, typ realtime.EventType, e store.Email, status, why string) {
	ev := emailEvent(e.ID, e.ConversationID, e.To, status, why)
	h := s.hooks()
	if err := h.emit(ctx, &s.db.Store, e.WorkspaceID, e.ConversationID, typ, ev); err != nil {
		s.log.Error("queue webhook event", "type", typ, "email", e.ID, "err", err)
		return
	}
	h.done()
}
