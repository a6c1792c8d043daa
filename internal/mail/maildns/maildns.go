// Package maildns works out the DNS records an operator publishes so that
// mailbox providers trust Parley's forwarded emails: the DKIM public key,
// SPF for the envelope domain and a DMARC policy, and whether the DKIM
// signing domain is aligned with the From domain (RFC 7489 3.1.1), without
// which DMARC fails however valid the signature.
package maildns

import (
	"fmt"
	"net/mail"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Alignment is how the DKIM signing domain (d=) relates to the From domain.
type Alignment string

// Alignments, strongest first.
const (
	AlignStrict  Alignment = "strict"  // the same domain: passes adkim=s and adkim=r
	AlignRelaxed Alignment = "relaxed" // the same organisational domain: passes the default adkim=r
	AlignNone    Alignment = "none"    // DMARC fails
	NoDKIM       Alignment = ""        // no key configured: nothing is signed
)

// Align compares a DKIM signing domain with the domain of a From address.
// Organisational domains come from the public suffix list, so a.example.co.uk
// and b.example.co.uk align and example.co.uk and other.co.uk do not.
func Align(dkimDomain, fromDomain string) Alignment {
	d := normalise(dkimDomain)
	f := normalise(fromDomain)
	if d == "" {
		return NoDKIM
	}
	if d == f {
		return AlignStrict
	}
	do, err1 := publicsuffix.EffectiveTLDPlusOne(d)
	fo, err2 := publicsuffix.EffectiveTLDPlusOne(f)
	if err1 == nil && err2 == nil && do == fo {
		return AlignRelaxed
	}
	return AlignNone
}

func normalise(domain string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
}

// Record is one DNS record to publish or check.
type Record struct {
	Purpose string // "DKIM", "SPF", "DMARC"
	Type    string // "TXT"
	Name    string
	Value   string
	Note    string // what to do with it
}

// Config is what the records are worked out from.
type Config struct {
	MailFrom   string // PARLEY_MAIL_FROM
	DKIMDomain string // PARLEY_DKIM_DOMAIN ("" without DKIM)
	// DKIMName and DKIMValue are the key's TXT record (relay.DKIMConfig.TXTRecord).
	DKIMName, DKIMValue string
	RelayHost           string // host of PARLEY_SMTP_URL ("" without a relay)
}

// Setup is the advice for one configuration.
type Setup struct {
	FromDomain string
	DKIMDomain string
	Alignment  Alignment
	Records    []Record
	// Warnings are problems that make mailbox providers distrust the
	// emails; each is a sentence for the log and the dashboard.
	Warnings []string
}

// Plan works out the records and warnings for c.
func Plan(c Config) Setup {
	s := Setup{FromDomain: domainOf(c.MailFrom), DKIMDomain: normalise(c.DKIMDomain)}
	s.Alignment = Align(s.DKIMDomain, s.FromDomain)
	switch {
	case s.Alignment == NoDKIM && c.RelayHost != "":
		s.Warnings = append(s.Warnings, "No DKIM key is configured (PARLEY_DKIM_KEY_FILE, PARLEY_DKIM_SELECTOR, PARLEY_DKIM_DOMAIN): "+
			"forwarded emails are not signed, and providers that require DKIM (Gmail and Yahoo for bulk senders) may reject or file them as spam. "+
			"Make a key with: parley dkim keygen --selector S --domain "+orDefault(s.FromDomain, "DOMAIN"))
	case s.Alignment == AlignNone:
		s.Warnings = append(s.Warnings, fmt.Sprintf("PARLEY_DKIM_DOMAIN %s is not aligned with the domain %s of PARLEY_MAIL_FROM: "+
			"DMARC needs the signing domain to be %s or a domain under the same organisational domain, so the signature will not count and a strict DMARC policy rejects the emails",
			s.DKIMDomain, orDefault(s.FromDomain, "(none)"), orDefault(s.FromDomain, "the From domain")))
	}
	if c.DKIMName != "" {
		s.Records = append(s.Records, Record{Purpose: "DKIM", Type: "TXT", Name: c.DKIMName, Value: c.DKIMValue,
			Note: "Publish this record: it holds the public key verifiers check the signature with."})
	}
	if s.FromDomain == "" {
		return s
	}
	spf := "v=spf1 mx ~all"
	note := "Check the SPF record of the envelope domain: it must allow the servers of your relay (for a provider, its include:...; for your own server, a: or ip4:), and there must be only one."
	if h := normalise(c.RelayHost); h != "" && h != "localhost" && !strings.HasPrefix(h, "127.") {
		spf = "v=spf1 a:" + h + " ~all"
		note += " For a relay you run yourself at " + h + ", the value shown does it."
	}
	s.Records = append(s.Records,
		Record{Purpose: "SPF", Type: "TXT", Name: s.FromDomain, Value: spf, Note: note},
		Record{Purpose: "DMARC", Type: "TXT", Name: "_dmarc." + s.FromDomain, Value: "v=DMARC1; p=none; rua=mailto:postmaster@" + s.FromDomain,
			Note: "Check that a DMARC policy exists; start with p=none and its reports, then move to p=quarantine or p=reject once everything passes."},
	)
	return s
}

func domainOf(addr string) string {
	a, err := mail.ParseAddress(strings.TrimSpace(addr))
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(a.Address, '@')
	if i < 0 {
		return ""
	}
	return normalise(a.Address[i+1:])
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
