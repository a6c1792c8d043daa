// Package webhook delivers a workspace's events to the URLs its admins
// registered: signed POSTs, durable (each delivery is a row), retried with
// growing delays, in order per conversation, through the one worker type.
//
// Webhook URLs are chosen by people, and Parley calls them from inside the
// network it runs in, so every URL is checked twice against server-side
// request forgery: when it is registered (ValidateURL) and on every
// connection, after DNS resolution, by the dialer (so a name that resolves
// to an internal address later is refused too). Redirects are not
// followed, a call ends after Timeout, and only the first bytes of an
// answer are read.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// ErrForbidden is wrapped by every refusal of a URL or address.
var ErrForbidden = errors.New("forbidden webhook destination")

// blocked holds the ranges that are never a public receiver, beyond what
// netip's predicates name: shared address space (carrier NAT, Alibaba's
// metadata address), IETF protocol assignments (Oracle's metadata),
// benchmarking, documentation, reserved, NAT64, 6to4, IPv4-compatible IPv6
// (::/8 beyond ::1 and the mapped form) and Teredo (2001::/23: all embed
// IPv4 addresses), discard-only, and documentation IPv6.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/8", "2001::/23", "100::/64", "2001:db8::/32", "fec0::/10",
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// CheckAddr refuses an address that is not a public unicast one:
// loopback, private, link-local (with the 169.254.169.254 metadata
// service), unspecified, multicast, and the ranges above. An IPv4 address
// written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address.
func CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	why := ""
	switch {
	case !ip.IsValid():
		why = "not an IP address"
	case ip.IsLoopback():
		why = "a loopback address"
	case ip.IsPrivate():
		why = "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		why = "a link-local address (cloud metadata services live there)"
	case ip.IsUnspecified():
		why = "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		why = "a multicast address"
	case !ip.IsGlobalUnicast():
		why = "not a public unicast address"
	default:
		for _, p := range blocked {
			if p.Contains(ip) {
				why = "a reserved or internal range (" + p.String() + ")"
				break
			}
		}
	}
	if why != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbidden, ip, why)
	}
	return nil
}

// checkPort refuses the ports of other services below 1024 (SMTP, SSH …),
// where a POST could be smuggled into another protocol.
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%w: port %q is not a port number", ErrForbidden, port)
	}
	if n < 1024 && n != 80 && n != 443 {
		return fmt.Errorf("%w: port %d is not 80, 443 or above 1023", ErrForbidden, n)
	}
	return nil
}

// Resolver looks names up (net.DefaultResolver in production).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ValidateURL checks a webhook URL as it is registered: http or https, a
// host, no credentials, an allowed port, and (unless allowPrivate) a host
// that is, or resolves only to, public addresses. It returns the URL in
// canonical form.
func ValidateURL(ctx context.Context, raw string, allowPrivate bool, res Resolver) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%w: the URL is empty", ErrForbidden)
	}
	if len(raw) > 2000 {
		return "", fmt.Errorf("%w: the URL is longer than 2000 characters", ErrForbidden)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: not a URL: %v", ErrForbidden, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: the scheme must be http or https, not %q", ErrForbidden, u.Scheme)
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: the URL must not carry a user name or password", ErrForbidden)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w: the URL has no host", ErrForbidden)
	}
	if u.Fragment != "" {
		u.Fragment = ""
	}
	if err := checkPort(u.Port()); err != nil {
		return "", err
	}
	if allowPrivate {
		return u.String(), nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := CheckAddr(ip); err != nil {
			return "", err
		}
		return u.String(), nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".local") {
		return "", fmt.Errorf("%w: %s names an internal host", ErrForbidden, host)
	}
	if res == nil {
		res = net.DefaultResolver
	}
	ips, err := res.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		// Not the resolver's error: it names the server's own resolver.
		return "", fmt.Errorf("%w: the host %s does not resolve to an address", ErrForbidden, host)
	}
	for _, ip := range ips {
		if err := CheckAddr(ip); err != nil {
			return "", fmt.Errorf("%s resolves to a forbidden address: %w", host, err)
		}
	}
	return u.String(), nil
}

// dialControl refuses a connection to a forbidden address. The dialer
// calls it with the resolved address of every attempt, so it holds
// whatever the name resolved to by then.
func dialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrForbidden, address)
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return err
	}
	return checkPort(strconv.Itoa(int(ap.Port())))
}
