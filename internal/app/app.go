// Package app wires Parley's parts together and owns start-up and orderly
// shutdown.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/config"
	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/mail/inbound"
	"github.com/parleychat/parley/internal/mail/maildns"
	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/mail/relay"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
	"github.com/parleychat/parley/internal/web"
	"github.com/parleychat/parley/internal/webhook"
	"github.com/parleychat/parley/internal/worker"
)

// Version is Parley's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// App is a running (or ready to run) Parley.
type App struct {
	Config config.Config
	DB     *store.DB
	Chat   *chat.Service
	Hub    *realtime.Hub
	Web    *web.Server
	Engine *forward.Engine
	Outbox *outbox.Worker
	// Inbound is the built-in SMTP server for visitors' email replies (nil
	// when PARLEY_INBOUND_SMTP_ADDR is empty).
	Inbound *inbound.Server
	// Meta answers Messenger and Instagram conversations through Meta's
	// Send API.
	Meta *meta.Service
	// MailDNS is the DNS advice for outbound mail (Settings → Email); its
	// warnings are logged at start.
	MailDNS maildns.Setup
	// Metrics are served on PARLEY_METRICS_ADDR (nil when it is empty).
	Metrics *metrics.Metrics
	relay   *relay.Relay
	pub     realtime.Publisher
	bus     *realtime.PGBus
	Log     *slog.Logger
	secret  []byte
	// conns counts the HTTP connections against the descriptor limit.
	conns *web.ConnGuard
	// Webhooks delivers the workspaces' events to their webhooks.
	Webhooks  *webhook.Deliverer
	retention *worker.Worker
	handOuts  *worker.Worker
}

// Open connects to the database, migrates it, makes sure the Default
// workspace exists and builds the parts.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return open(ctx, cfg, log, false)
}

// OpenToRead is Open for the commands that only read: the database is
// neither migrated nor given its Default workspace, and a schema other
// than this build's is refused, with what to do.
func OpenToRead(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return open(ctx, cfg, log, true)
}

func open(ctx context.Context, cfg config.Config, log *slog.Logger, toRead bool) (*App, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if db.Dialect() == store.Postgres && cfg.Secret == "" {
		// Refused before the schema is made, unless an older version's
		// database keeps the secret (loadSecret then says to move it).
		if stored, err := db.GetMeta(ctx, metaSecret); err != nil || stored == "" {
			db.Close()
			return nil, errPostgresSecret
		}
	}
	migrate := db.Migrate
	if toRead {
		migrate = db.SchemaIsThisBuilds
	}
	if err := migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	warnings, err := db.Warnings(ctx)
	if err != nil {
		log.Warn("could not check the database's settings", "err", err)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	secret, err := loadSecret(ctx, db, cfg.DatabaseURL, cfg.Secret, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	hub := realtime.NewHub()
	nodeID := model.NewID()
	var (
		pub realtime.Publisher = hub
		bus *realtime.PGBus
	)
	if db.Dialect() == store.Postgres {
		// Several nodes may share the database: events cross them.
		bus = realtime.NewPGBus(hub, db, cfg.DatabaseURL, nodeID, log)
		pub = bus
	}
	var mx *metrics.Metrics
	if cfg.MetricsAddr != "" {
		mx = newMetrics(db, hub, log)
		mx.ForwardResults(forward.DecisionResults)
	}
	svc := chat.New(db, pub, token.NewSigner(secret), chat.Options{
		NodeID:          nodeID,
		AgentAwayAfter:  cfg.AgentAwayAfter,
		VisitorGrace:    cfg.VisitorGrace,
		NodeTimeout:     cfg.NodeTimeout,
		AttachmentsDir:  cfg.AttachmentsDir,
		AttachmentQuota: cfg.AttachmentQuota,
		MailFrom:        cfg.MailFrom,
		InboundDomain:   cfg.InboundDomain,
		PublicURL:       cfg.PublicURL,
		Logger:          log,
		Metrics:         mx,

		NoAddressLimits:     !cfg.RateLimits,
		WebhookAllowPrivate: cfg.WebhookAllowPrivate,
	})
	// A token revoked on another node is refused here at once, not after
	// this node's memory of it ends.
	hub.OnAgentRevoked(svc.ForgetTokens)
	hub.OnWidgetsFrame(svc.ForgetSites)
	if !toRead {
		if err := svc.EnsureDefaultWorkspace(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("create default workspace: %w", err)
		}
		if err := svc.ImportAttachmentFiles(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	a := &App{Config: cfg, DB: db, Chat: svc, Hub: hub, Log: log, secret: secret, pub: pub, bus: bus, Metrics: mx}
	if err := a.openMail(); err != nil {
		db.Close()
		return nil, err
	}
	for _, w := range a.MailDNS.Warnings {
		log.Warn(w, "mail_from", cfg.MailFrom, "dkim_domain", cfg.DKIMDomain)
	}
	if cfg.SMTPURL != "" {
		// A real relay with the settings made for trying Parley out:
		// visitors' emails would carry links and addresses that lead
		// nowhere.
		for _, w := range cfg.LocalMail() {
			log.Warn(w)
		}
	}
	if cfg.SMTPURL != "" && !strings.HasPrefix(cfg.PublicURL, "https://") {
		log.Warn("PARLEY_PUBLIC_URL is not https: the List-Unsubscribe links of forwarded emails will not be either, and mail providers expect https", "public_url", cfg.PublicURL)
	}
	a.Engine = forward.NewEngine(db, svc.Signer(), pub, forward.EngineOptions{
		Timings: forward.Timings{
			LeftAfter: cfg.ForwardLeftAfter,
			IdleAfter: cfg.ForwardIdleAfter,
			Quiet:     cfg.ForwardQuiet,
		},
		PublicURL:     cfg.PublicURL,
		MailFrom:      cfg.MailFrom,
		InboundDomain: cfg.InboundDomain,
		Logger:        log,
		Queued: func() {
			mx.EmailOutcome(metrics.EmailQueued, 0)
			a.Outbox.Kick()
		},
		Decided: mx.ForwardDecided,
		Workers: forwardWorkers(db.Dialect()),

		MaxPerAddressDaily: cfg.ForwardPerAddressDaily,
	})
	svc.SetEvaluator(a.Engine)
	svc.OnNodeRemoved(a.Outbox.Kick)
	a.Meta = meta.New(db, svc, meta.Options{Secret: secret, GraphURL: cfg.MetaGraphURL, GraphVersion: cfg.MetaGraphVersion, Logger: log})
	svc.SetChannelSender(a.Meta)
	a.Webhooks = webhook.New(db, webhook.Options{
		AllowPrivate: cfg.WebhookAllowPrivate,
		RetryBase:    cfg.WebhookRetryBase,
		NodeID:       nodeID,
		Logger:       log,
		OnDisabled:   svc.WebhookDisabled,
	})
	svc.OnWebhookQueued(a.Webhooks.Kick)
	if cfg.WebhookAllowPrivate {
		log.Warn("PARLEY_WEBHOOK_ALLOW_PRIVATE=1: webhooks may reach loopback and private addresses")
	}
	// Retention: once a day, on the one worker type.
	a.retention = worker.New(worker.Config{Name: "retention", Work: svc.ApplyRetention, NextDue: svc.NextRetention,
		MaxIdle: time.Hour, Logger: log})
	// Automatic assignment's hand-outs, asked for by requests (Serve
	// connects them once it runs the worker).
	a.handOuts = worker.New(worker.Config{Name: "hand-outs", Work: svc.ServeHandOuts, Logger: log})
	resolve := inbound.TokenResolver(svc.Signer(), cfg.InboundDomain, cfg.MailFrom)
	sink := inboundSink{svc: svc}
	var hook http.Handler
	if cfg.InboundSecret != "" {
		hook = inbound.NewHook(cfg.InboundSecret, resolve, sink, log)
	}
	if cfg.InboundSMTPAddr != "" {
		sc := inbound.ServerConfig{Addr: cfg.InboundSMTPAddr, Domain: cfg.InboundDomain}
		if cfg.InboundTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.InboundTLSCert, cfg.InboundTLSKey)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("inbound TLS certificate: %w", err)
			}
			sc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		a.Inbound = inbound.NewServer(sc, resolve, sink, log)
	}
	var invites web.InviteMailer
	if a.relay != nil {
		invites = inviteMailer{relay: a.relay, from: cfg.MailFrom, log: log}
	}
	a.conns = web.NewConnGuard(0, log)
	a.Web = web.New(svc, hub, web.Options{
		Invites:     invites,
		InboundHook: hook,
		PublicURL:   cfg.PublicURL,
		Secret:      secret,
		Version:     Version,
		Ready:       db.Ping,
		ReadyChecks: a.readyChecks(),
		Logger:      log,
		Meta:        a.Meta,
		Metrics:     mx,

		TrustedProxies:  cfg.TrustedProxies,
		NoAddressLimits: !cfg.RateLimits,
		BodyReadTimeout: cfg.HTTPBodyTimeout,
		Conns:           a.conns,
		MailDNS:         &a.MailDNS,
	})
	return a, nil
}

// readyChecks are the conditions under which this node can serve: the
// database answers, its schema is the one this build expects, and on
// PostgreSQL the event bus to the other nodes is listening.
func (a *App) readyChecks() []web.ReadyCheck {
	checks := []web.ReadyCheck{
		{Name: "database", Check: a.DB.Ping},
		{Name: "migrations", Check: a.DB.MigrationsCurrent},
	}
	if a.bus != nil {
		checks = append(checks, web.ReadyCheck{Name: "bus", Check: func(context.Context) error {
			if !a.bus.Listening() {
				return errors.New("the event bus is not listening for other nodes' events")
			}
			return nil
		}})
	}
	return checks
}

// openMail sets up the outbound relay (when PARLEY_SMTP_URL is set) and the
// outbox worker.
func (a *App) openMail() error {
	var sender outbox.Sender
	dns := maildns.Config{MailFrom: a.Config.MailFrom, DKIMDomain: a.Config.DKIMDomain}
	if a.Config.SMTPURL != "" {
		rc := relay.Config{URL: a.Config.SMTPURL, HeloName: heloName(a.Config.PublicURL), Connections: a.Config.SMTPConnections}
		if u, err := url.Parse(a.Config.SMTPURL); err == nil {
			dns.RelayHost = u.Hostname()
		}
		if a.Config.DKIMKeyFile != "" {
			dk, err := relay.LoadDKIM(a.Config.DKIMKeyFile, a.Config.DKIMSelector, a.Config.DKIMDomain)
			if err != nil {
				return fmt.Errorf("DKIM: %w", err)
			}
			rc.DKIM = dk
			if dns.DKIMName, dns.DKIMValue, err = dk.TXTRecord(); err != nil {
				return fmt.Errorf("DKIM: %w", err)
			}
		}
		r, err := relay.New(rc)
		if err != nil {
			return fmt.Errorf("PARLEY_SMTP_URL: %w", err)
		}
		a.relay, sender = r, r
		a.Chat.SetNoticeSender(r)
	}
	a.MailDNS = maildns.Plan(dns)
	a.Outbox = outbox.New(a.DB, sender, a.Chat, outbox.Options{
		IsPermanent: relay.IsPermanent,
		RetryBase:   a.Config.MailRetryBase,
		NodeID:      a.Chat.NodeID(),
		Parallel:    a.Config.SMTPConnections,
		Logger:      a.Log,
	})
	return nil
}

func heloName(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// Close releases the relay connection and the database.
func (a *App) Close() error {
	if a.bus != nil {
		// Events published by a command (an agent removed) reach the
		// running nodes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.bus.Flush(ctx); err != nil {
			a.Log.Error("send events to the running nodes", "err", err)
		}
		cancel()
	}
	if a.relay != nil {
		_ = a.relay.Close()
	}
	return a.DB.Close()
}

// Serve runs the HTTP server and the background work on ln until ctx ends,
// then shuts down in order: stop taking requests, close WebSockets, let
// handlers finish, record pending leaves, stop background work.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	setMemoryLimit(a.Config.MemoryLimit, a.Log)
	setGCPercent(a.Log)
	// Every address first: one in use is said before this node is
	// recorded among the database's nodes (a node that never ran would
	// be found stale at the next start) or touches anyone's presence.
	var smtpLn, debugLn, metricsLn net.Listener
	defer func() { // each is closed by its server too: a second close is harmless
		for _, o := range []net.Listener{smtpLn, debugLn, metricsLn} {
			if o != nil {
				o.Close()
			}
		}
	}()
	for _, l := range []struct {
		ln         *net.Listener
		on         bool
		name, addr string
	}{
		{&smtpLn, a.Inbound != nil, "PARLEY_INBOUND_SMTP_ADDR", a.Config.InboundSMTPAddr},
		{&debugLn, a.Config.DebugAddr != "", "PARLEY_DEBUG_ADDR", a.Config.DebugAddr},
		{&metricsLn, a.Metrics != nil, "PARLEY_METRICS_ADDR", a.Config.MetricsAddr},
	} {
		if !l.on {
			continue
		}
		opened, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("listen on %s %s: %w", l.name, l.addr, err)
		}
		*l.ln = opened
	}
	if err := a.Chat.RecoverPresence(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("recover presence: %w", err)
	}
	if a.DB.Dialect() == store.SQLite {
		// One node: no email is in flight after a restart.
		for _, release := range []func(context.Context, time.Time) error{a.DB.ReleaseEmailLeases, a.DB.ReleaseWebhookLeases} {
			if err := release(ctx, time.Now()); err != nil {
				if ctx.Err() != nil {
					return nil // stopped while starting
				}
				return err
			}
		}
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	runs := []func(context.Context){a.Chat.Run, a.Chat.RunRetention, a.Engine.Run, a.Outbox.Run, a.Meta.Run, a.Webhooks.Run, a.retention.Run, a.handOuts.Run}
	a.Chat.HandOutsServedBy(a.handOuts.Kick)
	if a.bus != nil {
		runs = append(runs, a.bus.Run)
	}
	for _, run := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); run(bg) }()
	}

	if smtpLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Inbound.Serve(smtpLn); err != nil && bg.Err() == nil {
				a.Log.Error("inbound SMTP server stopped", "err", err)
			}
		}()
		a.Log.Info("inbound SMTP listening", "addr", smtpLn.Addr().String(), "domain", a.Config.InboundDomain)
	}
	if debugLn != nil {
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = dsrv.Serve(debugLn) }()
		defer dsrv.Close()
		a.Log.Info("debug listening", "addr", debugLn.Addr().String())
	}
	if metricsLn != nil {
		msrv := &http.Server{Handler: metricsHandler(a.Metrics), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(metricsLn) }()
		defer msrv.Close()
		a.Log.Info("metrics listening", "addr", metricsLn.Addr().String())
	}
	srv := &http.Server{
		Handler: a.Web,
		// The request line and headers; each handler's body and answer
		// have their own deadlines (web.BodyReadTimeout, web.WriteTimeout).
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		ConnState:         a.conns.ConnState,
		ConnContext:       a.conns.ConnContext,
	}
	errc := make(chan error, 1)
	a.conns.LogLimits()
	go func() { errc <- srv.Serve(a.conns.Listener(ln)) }()
	go web.CompressAssets() // before the first visitors ask for them
	a.Log.Info("parley listening", "addr", ln.Addr().String(), "public_url", a.Config.PublicURL, "version", Version)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.Log.Info("shutting down")
	a.Web.Shutdown(sctx)
	if serr := srv.Shutdown(sctx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		a.Log.Warn("http shutdown", "err", serr)
	}
	if a.Inbound != nil {
		_ = a.Inbound.Close()
	}
	a.Chat.FlushLeaves(sctx)
	stopBG()
	wg.Wait()
	a.Chat.HandOutsServedBy(nil) // what comes now is served in its call
	// The outbox has stopped: what it had claimed and not sent is for
	// other nodes (or the next start) to send now, not when the lease ends.
	if rerr := a.DB.ReleaseEmailClaims(sctx, a.Chat.NodeID(), time.Now()); rerr != nil {
		a.Log.Error("release claimed emails", "err", rerr)
	}
	if rerr := a.DB.ReleaseWebhookClaims(sctx, a.Chat.NodeID(), time.Now()); rerr != nil {
		a.Log.Error("release claimed webhook deliveries", "err", rerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// forwardWorkers is how many forwarding evaluations run at once. On SQLite
// they compose in parallel and share the writer's commits: four keep both
// cores busy. On PostgreSQL they mostly wait, for round trips and for the
// write-ahead log's flush, which one flush shares among the commits
// waiting: eight (of a node's twenty connections) emptied a burst of
// 10,000 due emails in 56 s where four took 69–85 s and sixteen 66 s (two
// nodes and the server on two cores).
func forwardWorkers(d store.Dialect) int {
	if d == store.Postgres {
		return 8
	}
	return 4
}
