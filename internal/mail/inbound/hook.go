package inbound

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// secretHeader carries the shared secret (PARLEY_INBOUND_SECRET) of the
// inbound HTTP hook.
const secretHeader = "X-Parley-Inbound-Secret"

// NewHook returns the handler of POST /api/inbound/v1/mime, for mail
// providers that POST a raw RFC 5322 message:
//
//   - the X-Parley-Inbound-Secret header must equal secret, else 401 unauthorized; with an
//     empty secret the endpoint is off and answers 404 not_found;
//   - a body over MaxMessageBytes is 413 too_large, one that is not an
//     email 400 bad_request;
//   - the recipients are the ?recipient= parameters when given, else the
//     message's To, Cc, Delivered-To and X-Original-To; none resolving is
//     404 unknown_recipient;
//   - too many replies from the sender or to the visitor is 429
//     rate_limited with Retry-After;
//   - a Sink failure is 503 unavailable, which providers retry (but one
//     wrapping ErrUnknownRecipient is 404 unknown_recipient);
//   - otherwise 202 {"status":"accepted"}, auto-replies included (they are
//     dropped).
func NewHook(secret string, resolve Resolver, sink Sink, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	want := sha256.Sum256([]byte(secret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secret == "" {
			writeError(w, http.StatusNotFound, "not_found", "the inbound mail endpoint is off (PARLEY_INBOUND_SECRET is not set)")
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
			return
		}
		// Comparing digests keeps the comparison constant-time whatever
		// the lengths.
		got := sha256.Sum256([]byte(r.Header.Get(secretHeader)))
		if r.Header.Get(secretHeader) == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong "+secretHeader+" header")
			return
		}
		if r.ContentLength > MaxMessageBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the message is larger than 25 MiB")
			return
		}

		sp, err := spoolMessage(http.MaxBytesReader(w, r.Body, MaxMessageBytes), MaxMessageBytes)
		defer sp.close()
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || errors.Is(err, errOverLimit) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the message is larger than 25 MiB")
			return
		}
		var m *Message
		if err == nil {
			m, err = parseSpooled(r.Context(), sp)
		}
		switch {
		case errors.Is(err, errTooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the message is larger than 25 MiB")
			return
		case errors.Is(err, errMalformed):
			writeError(w, http.StatusBadRequest, "bad_request", "the body is not a readable RFC 5322 message: "+err.Error())
			return
		case err != nil:
			log.Warn("inbound hook: message not read", "err", err)
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the message could not be read; try again later")
			return
		}

		rcpts := r.URL.Query()["recipient"]
		if len(rcpts) == 0 {
			rcpts = m.Recipients
		}
		err = Dispatch(r.Context(), m, rcpts, resolve, sink, log)
		switch {
		case errors.Is(err, ErrUnknownRecipient):
			writeError(w, http.StatusNotFound, "unknown_recipient", "no recipient is a Parley reply address")
		case errors.Is(err, ErrRateLimited):
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many email replies from this sender or to this conversation; try again later")
		case err != nil:
			log.Warn("inbound hook: message not delivered", "message_id", m.MessageID, "err", err)
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the message could not be stored; try again later")
		default:
			writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
		}
	})
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
