package relay

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is a parsed PARLEY_SMTP_URL.
type Endpoint struct {
	Host        string // host name or IP address, without brackets
	Port        string
	ImplicitTLS bool // smtps://: TLS from the first byte; smtp://: STARTTLS when offered
	Username    string
	Password    string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
}

// Addr returns host:port for dialing.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// String returns the URL with the password masked, for logs.
func (e Endpoint) String() string {
	u := url.URL{Scheme: "smtp", Host: e.Addr()}
	if e.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if e.Username != "" {
		u.User = url.UserPassword(e.Username, "xxxxx")
	}
	if e.InsecureSkipVerify {
		u.RawQuery = "insecure_skip_verify=1"
	}
	return u.String()
}

// ParseURL parses an outbound relay URL:
//
//	smtp://[user:pass@]host[:port]   STARTTLS when the server offers it; port 25 by default
//	smtps://[user:pass@]host[:port]  implicit TLS (RFC 8314); port 465 by default
//
// User and password are percent-encoded. The only query parameter is
// insecure_skip_verify=1, for tests. Errors never repeat the password.
func ParseURL(raw string) (Endpoint, error) {
	var ep Endpoint
	if strings.TrimSpace(raw) == "" {
		return ep, errors.New("relay: empty SMTP URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		switch {
		case !strings.Contains(raw, "://"): // "127.0.0.1:25"
			return ep, errors.New("relay: SMTP URL has no scheme: want smtp://host:port or smtps://host:port")
		case strings.Contains(raw, "@"):
			// The parser's reason quotes the part it stopped at, which
			// may be a piece of the password ("invalid port \":BKl\"").
			return ep, errors.New("relay: SMTP URL cannot be read: check the port, and percent-encode / # ? @ : % and spaces in the user name and password (/ as %2F, # as %23, ? as %3F, @ as %40, : as %3A, % as %25, a space as %20)")
		}
		// *url.Error quotes the whole URL.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return ep, fmt.Errorf("relay: SMTP URL: %w", err)
	}
	switch u.Scheme {
	case "smtp":
		ep.Port = "25"
	case "smtps":
		ep.Port = "465"
		ep.ImplicitTLS = true
	case "":
		return ep, errors.New("relay: SMTP URL has no scheme: want smtp://host:port or smtps://host:port")
	default:
		return ep, fmt.Errorf("relay: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return ep, fmt.Errorf("relay: SMTP URL: want %s://host:port", u.Scheme)
	}
	ep.Host = u.Hostname()
	if ep.Host == "" {
		return ep, errors.New("relay: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return ep, fmt.Errorf("relay: SMTP URL port %q: want 1-65535", p)
		}
		ep.Port = p
	} else if strings.HasSuffix(u.Host, ":") {
		return ep, errors.New("relay: SMTP URL has an empty port")
	}
	if u.Path != "" && u.Path != "/" {
		return ep, fmt.Errorf("relay: SMTP URL has a path %q: want %s://host:port", u.Path, u.Scheme)
	}
	if u.Fragment != "" {
		return ep, errors.New("relay: SMTP URL has a fragment")
	}
	if u.User != nil {
		ep.Username = u.User.Username()
		pass, ok := u.User.Password()
		switch {
		case ep.Username == "":
			return ep, errors.New("relay: SMTP URL has a password but no user name")
		case !ok || pass == "":
			return ep, errors.New("relay: SMTP URL has a user name but no password")
		}
		ep.Password = pass
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return ep, fmt.Errorf("relay: SMTP URL query: %w", err)
	}
	for k, vs := range q {
		if k != "insecure_skip_verify" {
			return ep, fmt.Errorf("relay: SMTP URL parameter %q unknown: the only one is insecure_skip_verify", k)
		}
		v := vs[len(vs)-1]
		b, err := strconv.ParseBool(v)
		if err != nil {
			return ep, fmt.Errorf("relay: SMTP URL insecure_skip_verify=%q: want 1 or 0", v)
		}
		ep.InsecureSkipVerify = b
	}
	return ep, nil
}
