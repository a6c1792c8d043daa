// Package config reads Parley's PARLEY_* environment variables into a
// Config, validated once at start-up.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is Parley's configuration (spec/api.md, "Configuration").
type Config struct {
	HTTPAddr         string
	PublicURL        string
	DatabaseURL      string
	Secret           string
	SMTPURL          string
	MailFrom         string
	InboundDomain    string
	InboundSMTPAddr  string
	InboundSecret    string
	ForwardLeftAfter time.Duration
	ForwardIdleAfter time.Duration
	ForwardQuiet     time.Duration
	AgentAwayAfter   time.Duration
	VisitorGrace     time.Duration
	MailRetryBase    time.Duration
	NodeTimeout      time.Duration
	AttachmentsDir   string
	// AttachmentQuota is the most bytes of files one workspace keeps.
	AttachmentQuota  int64
	InboundTLSCert   string
	InboundTLSKey    string
	MetaGraphURL     string
	MetaGraphVersion string
	LogLevel         slog.Level
	LogFormat        string // "text" or "json"
	DKIMKeyFile      string
	DKIMSelector     string
	DKIMDomain       string
	DebugAddr        string
	// MetricsAddr is where GET /metrics listens (PARLEY_METRICS_ADDR;
	// empty: no metrics).
	MetricsAddr string
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (PARLEY_MEMORY_LIMIT): 0 derives one (see internal/app), -1 is off.
	MemoryLimit int64
	// ForwardPerAddressDaily bounds the emails forwarded to one address
	// in 24 hours (PARLEY_FORWARD_MAX_PER_ADDRESS).
	ForwardPerAddressDaily int
	// SMTPConnections is how many connections to the relay send at once
	// (PARLEY_SMTP_CONNECTIONS).
	SMTPConnections int
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP is
	// believed (PARLEY_TRUSTED_PROXIES); empty: no header is.
	TrustedProxies []netip.Prefix
	// HTTPBodyTimeout bounds reading one request body
	// (PARLEY_HTTP_BODY_TIMEOUT).
	HTTPBodyTimeout time.Duration
	// RateLimits turns the per-address and per-site limits on
	// (PARLEY_RATE_LIMITS=on, the default) or off (load tests only).
	RateLimits bool
	// WebhookRetryBase is the first retry delay of a webhook delivery
	// (PARLEY_WEBHOOK_RETRY_BASE).
	WebhookRetryBase time.Duration
	// WebhookAllowPrivate lets webhooks reach loopback and private
	// addresses (PARLEY_WEBHOOK_ALLOW_PRIVATE=1).
	WebhookAllowPrivate bool
}

// Load reads the configuration from the environment through getenv
// (os.Getenv when nil).
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return load(getenv)
}

// Unknown names the PARLEY_* variables of environ (os.Environ's form) that
// no setting reads, each with the setting it is most likely a misspelling
// of ("" when none is close): a typo would otherwise leave the default in
// place without a word. Variables the tests read (PARLEY_TEST_*,
// PARLEY_BENCH_*, PARLEY_SCREENSHOTS) are not named.
func Unknown(environ []string) (unknown, closest []string) {
	known := map[string]bool{}
	_, _ = load(func(name string) string { known[name] = true; return "" })
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PARLEY_") || known[name] || name == "PARLEY_SCREENSHOTS" ||
			strings.HasPrefix(name, "PARLEY_TEST_") || strings.HasPrefix(name, "PARLEY_BENCH_") {
			continue
		}
		best, bestD := "", 4 // at most 3 edits away
		for k := range known {
			if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
				best, bestD = k, d
			}
		}
		unknown, closest = append(unknown, name), append(closest, best)
	}
	return unknown, closest
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		HTTPAddr:         get("PARLEY_HTTP_ADDR", "127.0.0.1:8080"),
		DatabaseURL:      get("PARLEY_DATABASE_URL", "sqlite:./data/parley.db"),
		Secret:           getenv("PARLEY_SECRET"),
		SMTPURL:          get("PARLEY_SMTP_URL", ""),
		MailFrom:         get("PARLEY_MAIL_FROM", "parley@localhost"),
		InboundDomain:    get("PARLEY_INBOUND_DOMAIN", "reply.localhost"),
		InboundSMTPAddr:  get("PARLEY_INBOUND_SMTP_ADDR", ""),
		InboundSecret:    getenv("PARLEY_INBOUND_SECRET"),
		DKIMKeyFile:      get("PARLEY_DKIM_KEY_FILE", ""),
		AttachmentsDir:   get("PARLEY_ATTACHMENTS_DIR", "./data/attachments"),
		InboundTLSCert:   get("PARLEY_INBOUND_TLS_CERT", ""),
		InboundTLSKey:    get("PARLEY_INBOUND_TLS_KEY", ""),
		MetaGraphURL:     strings.TrimRight(get("PARLEY_META_GRAPH_URL", "https://graph.facebook.com"), "/"),
		MetaGraphVersion: get("PARLEY_META_GRAPH_VERSION", "v21.0"),
		DKIMSelector:     get("PARLEY_DKIM_SELECTOR", ""),
		DKIMDomain:       get("PARLEY_DKIM_DOMAIN", ""),
		DebugAddr:        get("PARLEY_DEBUG_ADDR", ""),
		MetricsAddr:      get("PARLEY_METRICS_ADDR", ""),
	}
	c.PublicURL = strings.TrimRight(get("PARLEY_PUBLIC_URL", localURL(c.HTTPAddr)), "/")
	var errs []string
	dur := func(name, def string) time.Duration {
		raw := get(name, def)
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q is not a positive Go duration (e.g. 30s, 5m)", name, raw))
		}
		return d
	}
	c.ForwardLeftAfter = dur("PARLEY_FORWARD_LEFT_AFTER", "5m")
	c.ForwardIdleAfter = dur("PARLEY_FORWARD_IDLE_AFTER", "30m")
	c.ForwardQuiet = dur("PARLEY_FORWARD_QUIET", "30s")
	c.AgentAwayAfter = dur("PARLEY_AGENT_AWAY_AFTER", "2m")
	// How long a page change may take to reconnect before the visitor
	// counts as gone. Kept under LEFT_AFTER so shrunk timings still work.
	c.VisitorGrace = dur("PARLEY_VISITOR_GRACE", "3s")
	c.MailRetryBase = dur("PARLEY_MAIL_RETRY_BASE", "10s")
	c.NodeTimeout = dur("PARLEY_NODE_TIMEOUT", "15s")
	c.HTTPBodyTimeout = dur("PARLEY_HTTP_BODY_TIMEOUT", "30s")
	if raw := get("PARLEY_ATTACHMENT_QUOTA", "1GiB"); true {
		n, err := ParseBytes(raw)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Sprintf("PARLEY_ATTACHMENT_QUOTA=%q is not a size such as 500MiB or 20GiB", raw))
		}
		c.AttachmentQuota = n
	}
	c.WebhookRetryBase = dur("PARLEY_WEBHOOK_RETRY_BASE", "10s")
	switch v := get("PARLEY_WEBHOOK_ALLOW_PRIVATE", "0"); v {
	case "1", "true":
		c.WebhookAllowPrivate = true
	case "0", "false":
	default:
		errs = append(errs, fmt.Sprintf("PARLEY_WEBHOOK_ALLOW_PRIVATE=%q is not 0 or 1", v))
	}
	if c.VisitorGrace > c.ForwardLeftAfter/2 {
		c.VisitorGrace = c.ForwardLeftAfter / 2
	}

	if raw := get("PARLEY_MEMORY_LIMIT", ""); raw != "" {
		n, err := ParseBytes(raw)
		if err != nil {
			errs = append(errs, fmt.Sprintf("PARLEY_MEMORY_LIMIT=%q: %v", raw, err))
		}
		c.MemoryLimit = n
	}
	if raw := get("PARLEY_FORWARD_MAX_PER_ADDRESS", "50"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Sprintf("PARLEY_FORWARD_MAX_PER_ADDRESS=%q is not a positive number", raw))
		}
		c.ForwardPerAddressDaily = n
	}

	if raw := get("PARLEY_SMTP_CONNECTIONS", "4"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 64 {
			errs = append(errs, fmt.Sprintf("PARLEY_SMTP_CONNECTIONS=%q is not a number from 1 to 64", raw))
		}
		c.SMTPConnections = n
	}

	if raw := get("PARLEY_TRUSTED_PROXIES", ""); raw != "" {
		ps, err := ParsePrefixes(raw)
		if err != nil {
			errs = append(errs, fmt.Sprintf("PARLEY_TRUSTED_PROXIES=%q: %v", raw, err))
		}
		c.TrustedProxies = ps
	}
	switch raw := get("PARLEY_RATE_LIMITS", "on"); raw {
	case "on":
		c.RateLimits = true
	case "off":
	default:
		errs = append(errs, fmt.Sprintf("PARLEY_RATE_LIMITS=%q is not one of on, off", raw))
	}

	switch lvl := strings.ToLower(get("PARLEY_LOG_LEVEL", "info")); lvl {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Sprintf("PARLEY_LOG_LEVEL=%q is not one of debug, info, warn, error", lvl))
	}
	switch c.LogFormat = strings.ToLower(get("PARLEY_LOG_FORMAT", "text")); c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("PARLEY_LOG_FORMAT=%q is not one of text, json", c.LogFormat))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		errs = append(errs, fmt.Sprintf("PARLEY_PUBLIC_URL=%q is not an http(s) URL with a host", c.PublicURL))
	} else if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		// Links are this URL and the route ("/dashboard/…"): Parley
		// serves its routes from the root of its address.
		errs = append(errs, fmt.Sprintf("PARLEY_PUBLIC_URL=%q: want the scheme and host (and port) alone, e.g. https://chat.example.com: Parley is served from the root of its address, not under a path", c.PublicURL))
	}
	if c.Secret != "" && len(c.Secret) < 16 {
		errs = append(errs, "PARLEY_SECRET must be at least 16 characters")
	}
	if c.InboundSecret != "" && len(c.InboundSecret) < 16 {
		// Anyone may try it (the hook's endpoint is public): a short one
		// is guessed.
		errs = append(errs, "PARLEY_INBOUND_SECRET must be at least 16 characters (e.g. openssl rand -hex 32)")
	}
	if (c.DKIMKeyFile != "") != (c.DKIMSelector != "") || (c.DKIMKeyFile != "") != (c.DKIMDomain != "") {
		errs = append(errs, "PARLEY_DKIM_KEY_FILE, PARLEY_DKIM_SELECTOR and PARLEY_DKIM_DOMAIN go together")
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Sprintf("PARLEY_METRICS_ADDR=%q is not a host:port address (e.g. 127.0.0.1:9090)", c.MetricsAddr))
		} else if c.MetricsAddr == c.HTTPAddr {
			errs = append(errs, "PARLEY_METRICS_ADDR must differ from PARLEY_HTTP_ADDR: metrics have a listener of their own")
		}
	}
	if (c.InboundTLSCert == "") != (c.InboundTLSKey == "") {
		errs = append(errs, "PARLEY_INBOUND_TLS_CERT and PARLEY_INBOUND_TLS_KEY go together")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// ParseBytes reads a size as GOMEMLIMIT writes it: a number of bytes with
// an optional unit B, KiB, MiB, GiB or TiB (e.g. 512MiB), or "off" (-1).
func ParseBytes(raw string) (int64, error) {
	raw = strings.TrimSpace(raw)
	if strings.EqualFold(raw, "off") {
		return -1, nil
	}
	num := strings.TrimRightFunc(raw, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.TrimSpace(raw[len(num):])
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
	sh, ok := shift[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || n > (1<<62)>>sh {
		return 0, fmt.Errorf("not a size such as 512MiB or 2GiB, or off")
	}
	return n << sh, nil
}

// ParsePrefixes reads a list of CIDRs separated by commas or spaces, such as
// "10.0.0.0/8, 192.168.1.10"; a bare address is a prefix of its full length.
func ParsePrefixes(raw string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not an address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", f)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("%q mixes IPv4-mapped addresses with other IPv6 ones", f)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CIDR given")
	}
	return out, nil
}

// localURL is the public URL of a server that listens on addr and was not
// told its public one: http://localhost with addr's port when addr is a
// loopback or every interface (the default, 127.0.0.1:8080, gives
// http://localhost:8080), else addr itself. The demo page, the widget
// snippet and the start's sign-in hint then point where the server is.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "http://localhost:8080"
	}
	if host == "" || loopback(host) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// loopback reports whether host names this machine alone: localhost, or a
// loopback or unspecified address.
func loopback(host string) bool {
	ip, err := netip.ParseAddr(host)
	ip = ip.Unmap() // ::ffff:127.0.0.1 too
	return host == "localhost" || (err == nil && (ip.IsLoopback() || ip.IsUnspecified()))
}

// LocalMail names the mail settings still at values that only work on the
// machine itself (localhost), which emails sent through a relay would
// carry to visitors.
func (c Config) LocalMail() []string {
	local := func(host string) bool {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		return loopback(host) || strings.HasSuffix(host, ".localhost")
	}
	var out []string
	if u, err := url.Parse(c.PublicURL); err == nil && local(u.Hostname()) {
		out = append(out, "PARLEY_PUBLIC_URL is "+c.PublicURL+": the links in forwarded emails lead to the visitor's own machine; set it to the address visitors reach")
	}
	if _, domain, ok := strings.Cut(c.MailFrom, "@"); ok && local(domain) {
		out = append(out, "PARLEY_MAIL_FROM is "+c.MailFrom+": relays and mailboxes refuse or bin mail from a localhost address; set it to an address of your domain")
	}
	if local(c.InboundDomain) {
		out = append(out, "PARLEY_INBOUND_DOMAIN is "+c.InboundDomain+": visitors' answers to forwarded emails go nowhere; set it to a domain whose MX reaches Parley's inbound SMTP")
	}
	return out
}
