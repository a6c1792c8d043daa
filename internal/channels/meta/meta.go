// Package meta connects Parley to Facebook Messenger and Instagram direct
// messages through Meta's Graph API.
//
// A workspace connects one Facebook Page (and the Instagram professional
// account linked to it). Meta's webhook deliveries are checked against the
// app secret (X-Hub-Signature-256), stored as received and answered at
// once; a worker turns them into conversations through the chat service.
// Agents' replies go out through the Send API from a durable queue, within
// Meta's messaging window, with retries on rate limits and temporary
// failures. These conversations are never emailed.
package meta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/worker"
)

// Defaults of the Graph API endpoint (PARLEY_META_GRAPH_URL,
// PARLEY_META_GRAPH_VERSION).
const (
	DefaultGraphURL     = "https://graph.facebook.com"
	DefaultGraphVersion = "v21.0"
)

// WebhookPath is where Meta delivers webhooks (the Callback URL to enter in
// the app's Webhooks settings, after PARLEY_PUBLIC_URL).
const WebhookPath = "/api/channels/meta/webhook"

// Options configure a Service.
type Options struct {
	// Secret is PARLEY_SECRET: the key of the stored tokens derives from it.
	Secret []byte
	// GraphURL and GraphVersion locate the Graph API (defaults above).
	GraphURL     string
	GraphVersion string
	// HTTPClient makes Graph calls (a client with a 30s timeout when nil).
	HTTPClient *http.Client
	// RetryBase is the first retry delay of a failed send or event; it
	// doubles up to RetryMax.
	RetryBase, RetryMax time.Duration
	// GiveUpAfter: a reply still failing temporarily this long after it was
	// written fails for good (the standard window is 24 hours anyway).
	GiveUpAfter time.Duration
	// EventAttempts: a webhook event that failed this many times is kept as
	// failed and not tried again.
	EventAttempts int
	// Lease: how long a claimed reply or event is hidden from other workers.
	Lease time.Duration
	// ProfileMaxAge: a person's name is looked up again after this long.
	ProfileMaxAge time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the Messenger/Instagram channel. It implements
// chat.ChannelSender.
type Service struct {
	db    *store.DB
	chat  *chat.Service
	graph *Graph
	box   *box
	opts  Options
	log   *slog.Logger

	sends  *worker.Worker // agents' replies to the Send API
	events *worker.Worker // stored webhook events to process
}

var _ chat.ChannelSender = (*Service)(nil)

// New returns the channel. Run starts its workers.
func New(db *store.DB, svc *chat.Service, opts Options) *Service {
	if opts.GraphURL == "" {
		opts.GraphURL = DefaultGraphURL
	}
	if opts.GraphVersion == "" {
		opts.GraphVersion = DefaultGraphVersion
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 5 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 10 * time.Minute
	}
	if opts.GiveUpAfter <= 0 {
		opts.GiveUpAfter = 24 * time.Hour
	}
	if opts.EventAttempts <= 0 {
		opts.EventAttempts = 12
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.ProfileMaxAge <= 0 {
		opts.ProfileMaxAge = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	b, err := newBox(opts.Secret)
	if err != nil {
		// HKDF-SHA256 to 32 bytes and AES-256 cannot fail.
		panic(err)
	}
	s := &Service{
		db: db, chat: svc, box: b, opts: opts, log: opts.Logger,
		graph: NewGraph(opts.GraphURL, opts.GraphVersion, opts.HTTPClient),
	}
	// Both wake at least every 30 seconds: other nodes may have queued work.
	s.sends = worker.New(worker.Config{Name: "meta sends", Work: s.sendDue, Now: s.now, Logger: opts.Logger,
		NextDue: s.queueNext("replies", db.NextChannelReplyDue)})
	s.events = worker.New(worker.Config{Name: "meta webhook events", Work: s.processDue, Now: s.now, Logger: opts.Logger,
		NextDue: s.queueNext("webhook events", db.NextChannelEventDue)})
	return s
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// Run processes webhook events and sends queued replies until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if s.db.Dialect() == store.SQLite {
		// One node: nothing is in flight after a restart.
		if err := s.db.ReleaseChannelLeases(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.Error("release channel leases", "err", err)
		}
	}
	s.requeueUnsent(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.events.Run(ctx) })
	wg.Go(func() { s.sends.Run(ctx) })
	wg.Wait()
}

// queueNext wraps a store's next-due query for a worker.
func (s *Service) queueNext(what string, next func(context.Context) (*time.Time, error)) func(context.Context) (*time.Time, error) {
	return func(ctx context.Context) (*time.Time, error) {
		t, err := next(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the channel queue of %s: %w", what, err)
		}
		return t, nil
	}
}

// backoff is the delay before attempt n+1 after n failed attempts.
func (s *Service) backoff(n int) time.Duration {
	return worker.Backoff{Base: s.opts.RetryBase, Max: s.opts.RetryMax}.Delay(n)
}

// ---- accounts ---------------------------------------------------------------------

// Account is what Settings → Channels shows of a workspace's connection:
// never a secret, only its last four characters.
type Account struct {
	Connected        bool      `json:"connected"`
	PageID           string    `json:"page_id,omitempty"`
	PageName         string    `json:"page_name,omitempty"`
	InstagramID      string    `json:"instagram_id,omitempty"`
	PageTokenLast4   string    `json:"page_token_last4,omitempty"`
	AppSecretLast4   string    `json:"app_secret_last4,omitempty"`
	VerifyTokenLast4 string    `json:"verify_token_last4,omitempty"`
	TokenError       string    `json:"token_error,omitempty"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
	// Warning is set by Connect when the connection was saved but a check
	// with Meta could not be made (Meta unreachable, subscription refused).
	Warning string `json:"warning,omitempty"`
}

func accountView(a store.ChannelAccount) Account {
	return Account{Connected: true, PageID: a.PageID, PageName: a.PageName, InstagramID: a.InstagramID,
		PageTokenLast4: a.PageTokenLast4, AppSecretLast4: a.AppSecretLast4, VerifyTokenLast4: a.VerifyTokenLast4,
		TokenError: a.TokenError, UpdatedAt: a.UpdatedAt}
}

// Account returns a workspace's connection (Connected false when none).
func (s *Service) Account(ctx context.Context, workspaceID string) (Account, error) {
	a, err := s.db.ChannelAccount(ctx, workspaceID)
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, nil
	}
	if err != nil {
		return Account{}, err
	}
	return accountView(a), nil
}

// ConnectInput is the Settings → Channels form. An empty secret field keeps
// the stored value when the workspace is already connected.
type ConnectInput struct {
	PageID      string `json:"page_id"`
	PageToken   string `json:"page_token"`
	AppSecret   string `json:"app_secret"`
	VerifyToken string `json:"verify_token"`
	InstagramID string `json:"instagram_id"`
}

// Codes of the connection form.
const (
	CodeInvalidChannel = "invalid_channel_settings"
	CodeMetaRefused    = "meta_refused"
)

var metaID = regexp.MustCompile(`^[0-9]{1,32}$`)

func invalid(msg string) error { return &chat.Error{Code: CodeInvalidChannel, Message: msg} }

func secretField(name, v string) error {
	switch {
	case len(v) < 8:
		return invalid(name + " is too short (at least 8 characters)")
	case len(v) > 1024:
		return invalid(name + " is too long")
	case strings.ContainsAny(v, " \t\r\n"):
		return invalid(name + " must not contain spaces")
	}
	return nil
}

// Connect connects (or reconfigures) a workspace's Page. The token is
// checked with Meta (the Page's name is read with it) and the app is
// subscribed to the Page's messaging webhooks; Meta refusing either is an
// error and nothing is saved, Meta being unreachable only a warning.
func (s *Service) Connect(ctx context.Context, workspaceID string, in ConnectInput) (Account, error) {
	in.PageID = strings.TrimSpace(in.PageID)
	in.InstagramID = strings.TrimSpace(in.InstagramID)
	in.PageToken = strings.TrimSpace(in.PageToken)
	in.AppSecret = strings.TrimSpace(in.AppSecret)
	in.VerifyToken = strings.TrimSpace(in.VerifyToken)
	if !metaID.MatchString(in.PageID) {
		return Account{}, invalid("the Page id is the number Meta shows in the Page's About section")
	}
	if in.InstagramID != "" && !metaID.MatchString(in.InstagramID) {
		return Account{}, invalid("the Instagram account id is a number (leave it empty to connect Messenger only)")
	}
	old, err := s.db.ChannelAccount(ctx, workspaceID)
	existing := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Account{}, err
	}
	now := s.now()
	a := store.ChannelAccount{WorkspaceID: workspaceID, PageID: in.PageID, InstagramID: in.InstagramID, CreatedAt: now, UpdatedAt: now}
	if existing {
		a = old
		a.PageID, a.InstagramID, a.UpdatedAt = in.PageID, in.InstagramID, now
	}
	cred := Credentials{}
	if in.PageToken != "" {
		if err := secretField("the Page access token", in.PageToken); err != nil {
			return Account{}, err
		}
		a.PageTokenEnc, a.PageTokenLast4 = s.box.seal(in.PageToken, workspaceID+"/page_token"), last4(in.PageToken)
		a.TokenError = ""
		cred.PageToken = in.PageToken
	} else if !existing {
		return Account{}, invalid("the Page access token is required")
	} else if cred.PageToken, err = s.box.open(old.PageTokenEnc, workspaceID+"/page_token"); err != nil {
		return Account{}, invalid("the stored Page access token cannot be read any more: paste it again")
	}
	if in.AppSecret != "" {
		if err := secretField("the app secret", in.AppSecret); err != nil {
			return Account{}, err
		}
		a.AppSecretEnc, a.AppSecretLast4 = s.box.seal(in.AppSecret, workspaceID+"/app_secret"), last4(in.AppSecret)
		cred.AppSecret = in.AppSecret
	} else if !existing {
		return Account{}, invalid("the app secret is required")
	} else if cred.AppSecret, err = s.box.open(old.AppSecretEnc, workspaceID+"/app_secret"); err != nil {
		return Account{}, invalid("the stored app secret cannot be read any more: paste it again")
	}
	if in.VerifyToken != "" {
		if err := secretField("the verify token", in.VerifyToken); err != nil {
			return Account{}, err
		}
		a.VerifyTokenHash, a.VerifyTokenLast4 = hashVerifyToken(in.VerifyToken), last4(in.VerifyToken)
	} else if !existing {
		return Account{}, invalid("the webhook verify token is required (any string you also enter in Meta's Webhooks settings)")
	}

	var warning string
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	name, err := s.graph.PageName(cctx, cred, in.PageID)
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return Account{}, &chat.Error{Code: CodeMetaRefused, Message: "Meta refused the Page id or the access token: " + ae.Message, Err: err}
	case err != nil:
		warning = "Saved, but Meta could not be reached to check the token: " + err.Error()
	default:
		a.PageName, a.TokenError = name, ""
		if err := s.graph.Subscribe(cctx, cred, in.PageID); err != nil {
			warning = "Saved, but subscribing the app to the Page's messages failed (" + Describe(err) +
				"); subscribe it in the app's Messenger settings."
		}
	}
	if err := s.db.SaveChannelAccount(ctx, a); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return Account{}, &chat.Error{Code: chat.CodeDuplicate, Message: "this Page or Instagram account is already connected to another workspace", Err: err}
		}
		return Account{}, err
	}
	s.log.Info("meta page connected", "workspace", workspaceID, "page", in.PageID, "instagram", in.InstagramID)
	v := accountView(a)
	v.Warning = warning
	return v, nil
}

// Disconnect forgets a workspace's Page. Its conversations stay; replies to
// them fail until a Page is connected again.
func (s *Service) Disconnect(ctx context.Context, workspaceID string) error {
	if err := s.db.DeleteChannelAccount(ctx, workspaceID); err != nil {
		return err
	}
	s.log.Info("meta page disconnected", "workspace", workspaceID)
	return nil
}

// credentials decrypts an account's secrets.
func (s *Service) credentials(a store.ChannelAccount) (Credentials, error) {
	tok, err := s.box.open(a.PageTokenEnc, a.WorkspaceID+"/page_token")
	if err != nil {
		return Credentials{}, err
	}
	sec, err := s.box.open(a.AppSecretEnc, a.WorkspaceID+"/app_secret")
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{PageToken: tok, AppSecret: sec}, nil
}

// channelOf maps a webhook object to a conversation channel.
func channelOf(object string) (string, error) {
	switch object {
	case "page":
		return model.ChannelMessenger, nil
	case "instagram":
		return model.ChannelInstagram, nil
	}
	return "", fmt.Errorf("unknown webhook object %q", object)
}
