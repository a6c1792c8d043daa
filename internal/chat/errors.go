package chat

import (
	"errors"
	"fmt"
	"time"
)

// Error is a domain error with the code of spec/api.md. Handlers map codes
// to HTTP statuses and WebSocket error frames in one place.
type Error struct {
	Code    string
	Message string
	Err     error
	// RetryAfter is when a refused call (rate_limited) may be tried again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Codes used by the domain.
const (
	CodeNotFound            = "not_found"
	CodeUnknownSite         = "unknown_site"
	CodeInvalidToken        = "invalid_token"
	CodeInvalidCredentials  = "invalid_credentials"
	CodeInvalidEmail        = "invalid_email"
	CodeMessageTooLong      = "message_too_long"
	CodeEmptyMessage        = "empty_message"
	CodeContactFormRequired = "contact_form_required"
	CodeRateLimited         = "rate_limited"
	CodeBadRequest          = "bad_request"
	CodeDuplicate           = "already_exists"
	// CodeIdentityInvalid: a widget identity whose hash does not verify.
	CodeIdentityInvalid = "identity_invalid"
	// CodeVisitorHasEmail: asking for the email of a visitor who has one.
	CodeVisitorHasEmail = "visitor_has_email"
	// CodeNotWebsite: an action of website conversations asked of another.
	CodeNotWebsite = "not_website"
	// CodeInvalidDate and CodeInvalidRange: a report's dates.
	CodeInvalidDate  = "invalid_date"
	CodeInvalidRange = "invalid_range"
)

func newError(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// rateLimited is a rate_limited error that may be retried after wait.
func rateLimited(msg string, wait time.Duration) *Error {
	return &Error{Code: CodeRateLimited, Message: msg, RetryAfter: wait}
}

// ErrorCode returns the domain code of err, or "" for an internal error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
