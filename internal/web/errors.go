package web

import (
	"errors"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/chat"
)

// dashFail answers a failed service call: not_found is a 404 page, any
// other domain error a 400 with its message, anything else a logged 500.
func (s *Server) dashFail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	switch code := chat.ErrorCode(err); code {
	case chat.CodeNotFound:
		s.renderError(w, r, sess, http.StatusNotFound, "Not found. It may belong to another workspace, or the link is wrong.")
	case "":
		if r.Context().Err() != nil {
			return
		}
		s.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.renderError(w, r, sess, http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment.")
	default:
		s.renderError(w, r, sess, statusOf(code), sentence(domainMessage(err)))
	}
}

func domainMessage(err error) string {
	var e *chat.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// sentence capitalises the first letter of a domain message for display.
func sentence(msg string) string {
	r, n := utf8.DecodeRuneInString(msg)
	if n == 0 {
		return msg
	}
	return string(unicode.ToUpper(r)) + msg[n:]
}

func (s *Server) partialFail(w http.ResponseWriter, r *http.Request, err error) {
	code := chat.ErrorCode(err)
	if code == "" {
		if r.Context().Err() == nil {
			s.log.Error("dashboard partial failed", "path", r.URL.Path, "err", err)
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.Error(w, sentence(domainMessage(err)), statusOf(code))
}

// statusOf maps domain codes to HTTP statuses, in one place.
func statusOf(code string) int {
	switch code {
	case chat.CodeNotFound, chat.CodeUnknownSite:
		return http.StatusNotFound
	case chat.CodeInvalidToken, chat.CodeInvalidCredentials:
		return http.StatusUnauthorized
	case chat.CodeContactFormRequired:
		return http.StatusForbidden
	case chat.CodeRateLimited:
		return http.StatusTooManyRequests
	case chat.CodeDuplicate:
		return http.StatusConflict
	case "":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// fail writes a domain error (or a 500 for anything else, logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *chat.Error
	if errors.As(err, &e) {
		writeError(w, statusOf(e.Code), e.Code, e.Message)
		return
	}
	if r.Context().Err() != nil {
		return
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error")
}

// channelFail maps the channel's domain errors (a closed messaging window
// is a conflict with the conversation's state) and leaves the rest to fail.
func (s *Server) channelFail(w http.ResponseWriter, r *http.Request, err error) {
	var e *chat.Error
	if errors.As(err, &e) && e.Code == chat.CodeWindowClosed {
		writeError(w, http.StatusConflict, e.Code, e.Message)
		return
	}
	s.fail(w, r, err)
}
