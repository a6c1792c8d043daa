package relay

import (
	"errors"

	"github.com/emersion/go-smtp"
)

// IsPermanent reports whether err means the message will never be accepted
// as it is, so retrying is pointless: an SMTP 5xx reply (the *smtp.SMTPError
// stays reachable with errors.As), or a message or address Send refused
// before sending. Everything else (4xx replies, network errors, timeouts,
// a cancelled context) is temporary.
func IsPermanent(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500 && se.Code <= 599
}

// permanentError marks an error found before anything was sent that no
// retry can cure: no recipients, a malformed address or message.
type permanentError struct{ err error }

func permanent(err error) error { return &permanentError{err} }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
