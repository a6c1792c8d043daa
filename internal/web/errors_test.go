package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/realtime"
)

// The one mapping from an error to its answer, and how each kind of answer
// shows it: the statuses and codes are those of spec/api.md and docs/api.md.
func TestAnswerOf(t *testing.T) {
	t.Parallel()
	domain := func(code, msg string) error { return &chat.Error{Code: code, Message: msg} }
	const (
		internalPage  = "Something went wrong on our side. Try again in a moment."
		notFoundPage  = "Not found. It may belong to another workspace, or the link is wrong."
		internalFrame = "the server could not handle this frame; try again"
	)
	tests := []struct {
		name      string
		err       error
		status    int
		code      string
		message   string
		page      string // what a dashboard page shows
		frameCode string // the code of a widget's error frame
	}{
		{"not found", domain(chat.CodeNotFound, "conversation not found"), 404, "not_found", "conversation not found", notFoundPage, "bad_frame"},
		{"unknown site", domain(chat.CodeUnknownSite, "no site has this key"), 404, "unknown_site", "no site has this key", "No site has this key", "unknown_site"},
		{"invalid token", domain(chat.CodeInvalidToken, "token expired"), 401, "invalid_token", "token expired", "Token expired", "invalid_token"},
		{"invalid credentials", domain(chat.CodeInvalidCredentials, "wrong email or password"), 401, "invalid_credentials", "wrong email or password", "Wrong email or password", "invalid_credentials"},
		{"contact form required", domain(chat.CodeContactFormRequired, "leave your email first"), 403, "contact_form_required", "leave your email first", "Leave your email first", "contact_form_required"},
		{"rate limited", domain(chat.CodeRateLimited, "too many messages"), 429, "rate_limited", "too many messages", "Too many messages", "rate_limited"},
		{"duplicate", domain(chat.CodeDuplicate, "already connected"), 409, "already_exists", "already connected", "Already connected", "already_exists"},
		{"window closed", domain(chat.CodeWindowClosed, "more than 24 hours have passed"), 409, "channel_window_closed", "more than 24 hours have passed", "More than 24 hours have passed", "channel_window_closed"},
		{"invalid email", domain(chat.CodeInvalidEmail, "not an email address"), 400, "invalid_email", "not an email address", "Not an email address", "invalid_email"},
		{"message too long", domain(chat.CodeMessageTooLong, "at most 10,000 characters"), 400, "message_too_long", "at most 10,000 characters", "At most 10,000 characters", "message_too_long"},
		{"empty message", domain(chat.CodeEmptyMessage, "message is empty"), 400, "empty_message", "message is empty", "Message is empty", "bad_frame"},
		{"bad request", domain(chat.CodeBadRequest, "unknown kind"), 400, "bad_request", "unknown kind", "Unknown kind", "bad_frame"},
		{"not a channel", domain(chat.CodeNotChannel, "not on Messenger"), 400, "not_a_channel_conversation", "not on Messenger", "Not on Messenger", "not_a_channel_conversation"},
		{"wrapped domain error", fmt.Errorf("post message: %w", domain(chat.CodeRateLimited, "slow down")), 429, "rate_limited", "slow down", "Slow down", "rate_limited"},
		{"empty domain message", domain(chat.CodeBadRequest, ""), 400, "bad_request", "", "", "bad_frame"},
		{"non-ASCII first letter", domain(chat.CodeBadRequest, "état inconnu"), 400, "bad_request", "état inconnu", "État inconnu", "bad_frame"},
		{"webhook signature", meta.ErrSignature, 401, "invalid_signature", meta.ErrSignature.Error(), sentence(meta.ErrSignature.Error()), "invalid_signature"},
		{"malformed webhook", fmt.Errorf("%w: unexpected EOF", meta.ErrMalformed), 400, "bad_request", meta.ErrMalformed.Error() + ": unexpected EOF", sentence(meta.ErrMalformed.Error()) + ": unexpected EOF", "bad_frame"},
		{"internal", errors.New("database is locked"), 500, "internal", "internal error", internalPage, "internal"},
		{"domain error without a code", &chat.Error{Message: "?"}, 500, "internal", "internal error", internalPage, "internal"},
		{"cancelled", context.Canceled, 500, "internal", "internal error", internalPage, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := answerOf(tt.err)
			if a.Status != tt.status || a.Code != tt.code || a.Message != tt.message {
				t.Errorf("answerOf = %d %q %q, want %d %q %q", a.Status, a.Code, a.Message, tt.status, tt.code, tt.message)
			}
			if a.Internal != (tt.status == http.StatusInternalServerError) {
				t.Errorf("Internal = %v for status %d", a.Internal, tt.status)
			}
			if got := a.text(); got != tt.page {
				t.Errorf("page text = %q, want %q", got, tt.page)
			}
			f := errorFrameOf(a, "c1")
			wantMsg := tt.message
			if a.Internal {
				wantMsg = internalFrame
			}
			if f.Type != "error" || f.Code != tt.frameCode || f.Message != wantMsg || f.ClientID != "c1" {
				t.Errorf("frame = %+v, want code %q message %q", f, tt.frameCode, wantMsg)
			}
		})
	}
}

// Each responder renders the same answer in its own form; a request whose
// client went away gets no answer and logs nothing.
func TestResponders(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil))}
	limited := fmt.Errorf("send: %w", &chat.Error{Code: chat.CodeRateLimited, Message: "too many messages"})
	internal := errors.New("disk full")

	do := func(respond func(http.ResponseWriter, *http.Request)) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		respond(w, httptest.NewRequest("GET", "/x", nil))
		return w
	}
	check := func(t *testing.T, w *httptest.ResponseRecorder, status int, contentType, body string) {
		t.Helper()
		if w.Code != status || !strings.HasPrefix(w.Header().Get("Content-Type"), contentType) || !strings.Contains(w.Body.String(), body) {
			t.Errorf("got %d %q %q, want %d %q containing %q", w.Code, w.Header().Get("Content-Type"), w.Body.String(), status, contentType, body)
		}
	}

	t.Run("JSON", func(t *testing.T) {
		w := do(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, limited) })
		check(t, w, 429, "application/json", "")
		if ra := w.Header().Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		var b errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error.Code != "rate_limited" || b.Error.Message != "too many messages" {
			t.Errorf("body %s (%v)", w.Body, err)
		}
		check(t, do(func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, internal) }), 500, "application/json", `{"error":{"code":"internal","message":"internal error"}}`)
	})
	t.Run("page", func(t *testing.T) {
		check(t, do(func(w http.ResponseWriter, r *http.Request) { s.failPage(w, r, nil, limited) }), 429, "text/html", "Too many messages")
		check(t, do(func(w http.ResponseWriter, r *http.Request) { s.failPage(w, r, nil, internal) }), 500, "text/html", "Something went wrong on our side")
	})
	t.Run("fragment", func(t *testing.T) {
		check(t, do(func(w http.ResponseWriter, r *http.Request) { s.failFragment(w, r, limited) }), 429, "text/plain", "Too many messages")
		check(t, do(func(w http.ResponseWriter, r *http.Request) { s.failFragment(w, r, internal) }), 500, "text/plain", "internal error")
	})
	t.Run("frame", func(t *testing.T) {
		conn := realtime.NewConn("w", "v", "")
		frames := make(chan []byte, 4)
		conn.Start(func(b []byte) error { frames <- b; return nil }, func() {})
		defer conn.Kill()
		s.failFrame(context.Background(), conn, "c9", limited)
		var f errorFrame
		if err := json.Unmarshal(<-frames, &f); err != nil || f != (errorFrame{Type: "error", Code: "rate_limited", Message: "too many messages", ClientID: "c9", RetryAfter: 1}) {
			t.Errorf("frame %+v (%v)", f, err)
		}
	})
	if n := strings.Count(logged.String(), "disk full"); n != 3 {
		t.Errorf("internal errors logged %d times, want once per responder:\n%s", n, logged.String())
	}

	t.Run("client gone", func(t *testing.T) {
		var quiet strings.Builder
		s := &Server{log: slog.New(slog.NewTextHandler(&quiet, nil))}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for name, respond := range map[string]func(http.ResponseWriter, *http.Request){
			"JSON": func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, internal) },
			"page": func(w http.ResponseWriter, r *http.Request) { s.failPage(w, r, nil, internal) },
		} {
			w := httptest.NewRecorder()
			respond(w, httptest.NewRequestWithContext(ctx, "GET", "/x", nil))
			if body, _ := io.ReadAll(w.Body); len(body) != 0 {
				t.Errorf("%s: answered %q to a client that went away", name, body)
			}
		}
		if quiet.Len() != 0 {
			t.Errorf("logged: %s", quiet.String())
		}
	})
}
