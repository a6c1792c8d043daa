// Package logging builds Parley's slog logger (text or JSON, by
// PARLEY_LOG_FORMAT) and masks what must not reach the log in full:
// visitors' email addresses.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Formats of PARLEY_LOG_FORMAT.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// New returns a logger writing to w in format ("text" or "json") from
// level up. In JSON, durations are seconds.
func New(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case FormatText, "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		opts.ReplaceAttr = seconds
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q is not one of text, json", format)
	}
}

// seconds writes a duration as seconds ("duration":0.002834), where
// slog's JSON would write a count of nanoseconds with no unit.
func seconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.Float64Value(a.Value.Duration().Seconds())
	}
	return a
}

// MaskEmail keeps the first character of the local part and the domain of
// an address: "jane@example.com" becomes "j***@example.com". Anything that
// is not an address becomes "***".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		if addr == "" {
			return ""
		}
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	first := []rune(local)[0]
	return string(first) + "***@" + domain
}

var addrPattern = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// MaskEmails masks every address in free text, such as an SMTP server's
// answer ("550 5.1.1 <jane@example.com>: no such user").
func MaskEmails(s string) string {
	return addrPattern.ReplaceAllStringFunc(s, MaskEmail)
}
