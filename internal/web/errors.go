package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/realtime"
)

// Every error a request ends with is turned into an answer by answerOf, and
// only there; one responder per kind of answer renders it: fail (the JSON
// error of spec/api.md), failPage (a dashboard page), failFragment (an HTML
// fragment dashboard.js fetches) and failFrame (a WebSocket error frame).

// answer is what a failed request answers, whatever its kind.
type answer struct {
	Status  int
	Code    string // the error code of spec/api.md
	Message string // the error's own words, as the API sends them
	// Internal marks a failure that is not the client's: it is logged, and
	// its text is never shown.
	Internal bool
	// RetryAfter is when a rate-limited request may be tried again.
	RetryAfter time.Duration
}

// codeInternal is the code of an internal error.
const codeInternal = "internal"

// codeServerBusy refuses a widget connection near the descriptor limit.
const codeServerBusy = "server_busy"

// statusOfCode holds the domain codes whose status is not 400.
var statusOfCode = map[string]int{
	chat.CodeNotFound:            http.StatusNotFound,
	chat.CodeUnknownSite:         http.StatusNotFound,
	chat.CodeInvalidToken:        http.StatusUnauthorized,
	chat.CodeLinkExpired:         http.StatusUnauthorized,
	chat.CodeIdentityInvalid:     http.StatusUnauthorized,
	chat.CodeInvalidCredentials:  http.StatusUnauthorized,
	chat.CodeContactFormRequired: http.StatusForbidden,
	chat.CodeRateLimited:         http.StatusTooManyRequests,
	chat.CodeDuplicate:           http.StatusConflict,
	chat.CodeForbidden:           http.StatusForbidden,
	chat.CodeLastAdmin:           http.StatusConflict,
	chat.CodeInvalidInvite:       http.StatusNotFound,
	chat.CodeTooLarge:            http.StatusRequestEntityTooLarge,
	chat.CodeUnsupportedType:     http.StatusUnsupportedMediaType,
	chat.CodeQuotaExceeded:       http.StatusRequestEntityTooLarge,
	// A closed messaging window is a conflict with the conversation's state.
	chat.CodeWindowClosed: http.StatusConflict,
	// Asking for an email the visitor already gave, or in a conversation
	// without a widget, conflicts with the conversation's state.
	chat.CodeVisitorHasEmail: http.StatusConflict,
	chat.CodeNotWebsite:      http.StatusConflict,
	codeServerBusy:           http.StatusServiceUnavailable,
}

// answerOf maps an error to its answer: a domain error to its code's
// status, a refused Meta webhook delivery to 401 or 400, anything else to
// an internal error.
func answerOf(err error) answer {
	var e *chat.Error
	switch {
	case errors.As(err, &e) && e.Code != "":
		status, ok := statusOfCode[e.Code]
		if !ok {
			status = http.StatusBadRequest
		}
		return answer{Status: status, Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
	case errors.Is(err, meta.ErrSignature):
		return answer{Status: http.StatusUnauthorized, Code: "invalid_signature", Message: err.Error()}
	case errors.Is(err, meta.ErrMalformed):
		return answer{Status: http.StatusBadRequest, Code: chat.CodeBadRequest, Message: err.Error()}
	default:
		return answer{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error", Internal: true}
	}
}

// text is the answer as a dashboard page shows it to a person.
func (a answer) text() string {
	switch {
	case a.Internal:
		return "Something went wrong on our side. Try again in a moment."
	case a.Code == chat.CodeNotFound:
		return "Not found. It may belong to another workspace, or the link is wrong."
	default:
		return sentence(a.Message)
	}
}

// sentence capitalises the first letter of a domain message for display.
func sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return string(unicode.ToUpper(r)) + msg[n:]
}

// logInternal logs an internal failure, unless the client went away (which
// is the cause, not a failure); it reports whether an answer is still owed.
func (s *Server) logInternal(ctx context.Context, msg string, err error, attrs ...any) bool {
	if ctx.Err() != nil {
		return false
	}
	s.log.Error(msg, append(attrs, "err", err)...)
	return true
}

// fail answers an API request with the JSON error of spec/api.md.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failWith(w, r, err, answerOf(err))
}

// confirmAnswer is answerOf for a caller already authenticated who gave
// their password again (a password change, a new API token): a wrong one
// is a refusal (403), not a failed login (401).
func confirmAnswer(err error) answer {
	a := answerOf(err)
	if a.Code == chat.CodeInvalidCredentials {
		a.Status = http.StatusForbidden
	}
	return a
}

// failConfirm is fail for such a caller (confirmAnswer).
func (s *Server) failConfirm(w http.ResponseWriter, r *http.Request, err error) {
	s.failWith(w, r, err, confirmAnswer(err))
}

// failWith answers a JSON request with a, the answer of err.
func (s *Server) failWith(w http.ResponseWriter, r *http.Request, err error, a answer) {
	if a.Internal && !s.logInternal(r.Context(), "request failed", err, "method", r.Method, "route", r.Pattern) {
		return
	}
	retryAfter(w, err)
	writeError(w, a.Status, a.Code, a.Message)
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// failPage answers a dashboard page with the error page.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	a := answerOf(err)
	if a.Internal && !s.logInternal(r.Context(), "dashboard request failed", err, "method", r.Method, "route", r.Pattern) {
		return
	}
	retryAfter(w, err)
	s.renderError(w, r, sess, a.Status, a.text())
}

// failFragment answers a request for an HTML fragment with a plain-text
// error: dashboard.js only looks at the status.
func (s *Server) failFragment(w http.ResponseWriter, r *http.Request, err error) {
	a := answerOf(err)
	if a.Internal {
		s.logInternal(r.Context(), "dashboard partial failed", err, "route", r.Pattern)
		http.Error(w, a.Message, a.Status)
		return
	}
	http.Error(w, sentence(a.Message), a.Status)
}

// frameCode is the code of a widget's error frame: a frame the domain
// refuses as malformed, naming nothing that exists, or empty is a bad frame
// (spec/api.md).
func frameCode(a answer) string {
	switch a.Code {
	case chat.CodeBadRequest, chat.CodeNotFound, chat.CodeEmptyMessage:
		return "bad_frame"
	}
	return a.Code
}

// errorFrameOf is the error frame of an answer to a widget frame.
func errorFrameOf(a answer, clientID string) errorFrame {
	msg := a.Message
	if a.Internal {
		msg = "the server could not handle this frame; try again"
	}
	f := errorFrame{Type: realtime.FrameError, Code: frameCode(a), Message: msg, ClientID: clientID}
	if a.Code == chat.CodeRateLimited || a.Code == codeServerBusy {
		f.RetryAfter = retrySeconds(a.RetryAfter)
	}
	return f
}

// failFrame answers a refused widget frame with an error frame; attrs
// describe the frame for the log.
func (s *Server) failFrame(ctx context.Context, conn *realtime.Conn, clientID string, err error, attrs ...any) {
	a := answerOf(err)
	if a.Internal && !s.logInternal(ctx, "widget frame failed", err, attrs...) {
		return
	}
	conn.Push(encodeFrame(errorFrameOf(a, clientID)))
}
