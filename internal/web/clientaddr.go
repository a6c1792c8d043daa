package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The client's address, which every per-address limit keys on. It is the
// TCP peer's, unless the peer is one of PARLEY_TRUSTED_PROXIES: then it is
// the right-most address of X-Forwarded-For that is not itself a trusted
// proxy (the one the nearest untrusted hop was seen from; anything to its
// left was written by the client and proves nothing); X-Real-IP only when
// there is no X-Forwarded-For. With no trusted proxy configured no header
// is ever believed.

// maxForwardedHops bounds how many X-Forwarded-For entries are looked at.
const maxForwardedHops = 32

// clientIP returns the client's address of r.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		// A proxy that appends to X-Forwarded-For may pass X-Real-IP on
		// as the client wrote it: with the first present, the second is
		// never believed, even when the first names nobody usable.
		if a, ok := forwardedFor(xff, trusted); ok {
			return a
		}
		return peer
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return a.Unmap()
	}
	return peer
}

// forwardedFor walks X-Forwarded-For from the right and returns the first
// address that is not a trusted proxy. A malformed entry ends the walk:
// nothing left of it can be placed. ok is false when no untrusted address
// was found.
func forwardedFor(values []string, trusted []netip.Prefix) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	if len(hops) > maxForwardedHops {
		hops = hops[len(hops)-maxForwardedHops:]
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return netip.Addr{}, false
		}
		if !isTrusted(a, trusted) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port ("1.2.3.4:5678", "[2001:db8::1]:80").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrKey is the key per-address limits count under: an IPv4 address, or
// the /64 of an IPv6 one (one customer line holds a whole /64).
func addrKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// clientAddr is the key the per-address limits of a request count under.
func (s *Server) clientAddr(r *http.Request) string {
	return addrKey(clientIP(r, s.opts.TrustedProxies))
}
