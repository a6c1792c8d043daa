package web

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/model"
)

// Messenger and Instagram: Meta's webhook, the messaging-window API of
// channel conversations and the connection API. The dashboard's
// Settings → Channels page is settings_channels.go.
//
//	GET  /api/channels/meta/webhook                     Meta's verification handshake
//	POST /api/channels/meta/webhook                     Meta's signed webhook deliveries
//	GET  /api/v1/conversations/{id}/channel             the messaging window (chat.Window)
//	POST /api/v1/conversations/{id}/channel-messages    {"body","tag"?:"HUMAN_AGENT"} → 201 Message
//	GET|PUT|DELETE /api/v1/channels/meta                the workspace's connection (meta.Account)
//	GET|POST /dashboard/settings/channels               the settings page (and .../disconnect)

// MetaChannel is what the web layer needs of the Messenger/Instagram
// channel (meta.Service).
type MetaChannel interface {
	VerifyWebhook(ctx context.Context, mode, verifyToken string) (bool, error)
	ReceiveWebhook(ctx context.Context, signature string, body []byte) (meta.Receipt, error)
	Account(ctx context.Context, workspaceID string) (meta.Account, error)
	Connect(ctx context.Context, workspaceID string, in meta.ConnectInput) (meta.Account, error)
	Disconnect(ctx context.Context, workspaceID string) error
}

// metaChannel returns the channel, or false when this server runs without
// it.
func (s *Server) metaChannel() (MetaChannel, bool) {
	return s.opts.Meta, s.opts.Meta != nil
}

const codeChannelsOff = "channels_not_enabled"

func channelsOff(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, codeChannelsOff, "Messenger and Instagram are not enabled on this server")
}

// ---- webhook -------------------------------------------------------------------------

// metaVerify answers Meta's verification request: hub.challenge as plain
// text when hub.mode is subscribe and hub.verify_token is some workspace's
// verify token; 403 otherwise.
func (s *Server) metaVerify(w http.ResponseWriter, r *http.Request) {
	m, ok := s.metaChannel()
	if !ok {
		channelsOff(w)
		return
	}
	q := r.URL.Query()
	challenge := q.Get("hub.challenge")
	good, err := m.VerifyWebhook(r.Context(), q.Get("hub.mode"), q.Get("hub.verify_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !good || challenge == "" || len(challenge) > 512 {
		http.Error(w, "verification refused", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, challenge)
}

// metaWebhook takes a webhook delivery: checked, stored, answered at once
// (the worker processes it), so Meta never waits on Parley.
func (s *Server) metaWebhook(w http.ResponseWriter, r *http.Request) {
	m, ok := s.metaChannel()
	if !ok {
		channelsOff(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, meta.MaxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "webhook body is larger than 1 MiB")
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the webhook body")
		return
	}
	rec, err := m.ReceiveWebhook(r.Context(), r.Header.Get("X-Hub-Signature-256"), body)
	if err != nil {
		if errors.Is(err, meta.ErrSignature) {
			s.log.Warn("meta webhook refused: bad signature", "addr", clientIP(r, s.opts.TrustedProxies).String())
		}
		// Meta retries a delivery that was not answered 200.
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "stored": rec.Stored, "ignored": rec.Ignored})
}

// ---- agent API --------------------------------------------------------------------------

func (s *Server) getChannelWindow(w http.ResponseWriter, r *http.Request, a model.Agent) {
	win, err := s.svc.ChannelWindow(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, win)
}

func (s *Server) postChannelMessage(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Body string `json:"body"`
		Tag  string `json:"tag"`
	}
	if !decode(w, r, &in) {
		return
	}
	m, err := s.svc.PostChannelReply(r.Context(), a, r.PathValue("id"), in.Body, in.Tag)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) getMetaAccount(w http.ResponseWriter, r *http.Request, a model.Agent) {
	m, ok := s.metaChannel()
	if !ok {
		channelsOff(w)
		return
	}
	acct, err := m.Account(r.Context(), a.WorkspaceID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, acct)
}

func (s *Server) putMetaAccount(w http.ResponseWriter, r *http.Request, a model.Agent) {
	m, ok := s.metaChannel()
	if !ok {
		channelsOff(w)
		return
	}
	var in meta.ConnectInput
	if !decode(w, r, &in) {
		return
	}
	acct, err := m.Connect(r.Context(), a.WorkspaceID, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, acct)
}

func (s *Server) deleteMetaAccount(w http.ResponseWriter, r *http.Request, a model.Agent) {
	m, ok := s.metaChannel()
	if !ok {
		channelsOff(w)
		return
	}
	if err := m.Disconnect(r.Context(), a.WorkspaceID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
