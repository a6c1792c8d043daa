package relay

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMConfig is what signing needs (RFC 6376): the signing domain (d=), the
// selector (s=) and the private key, PEM: RSA in PKCS#1 or PKCS#8, or
// Ed25519 (RFC 8463) in PKCS#8.
type DKIMConfig struct {
	Domain   string
	Selector string
	KeyPEM   []byte
}

// oversignedHeaders are the header fields the signature protects: those a
// reader sees or acts on, and those that steer robots (Auto-Submitted,
// X-Auto-Response-Suppress). Each is listed in h= once more than the
// message holds it (RFC 6376 5.4.2, 8.15): a verifier then reads the extra
// listing as "no further instance", so a second Subject, To or
// List-Unsubscribe added on the way breaks the signature. In-Reply-To and
// References are therefore signed even when absent (a first email has
// neither): deliberately, so that nobody can attach an email to another
// thread after signing.
var oversignedHeaders = []string{
	"From", "To", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post",
	"MIME-Version", "Content-Type", "Auto-Submitted", "X-Auto-Response-Suppress",
}

// headerKeys returns h= for a message: every oversigned field as many times
// as the header holds it, plus once.
func headerKeys(msg []byte) []string {
	counts := make(map[string]int, len(oversignedHeaders))
	for _, line := range bytes.Split(headerBlock(msg), []byte("\n")) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // a continuation line
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		counts[strings.ToLower(strings.TrimSpace(string(name)))]++
	}
	keys := make([]string, 0, 2*len(oversignedHeaders))
	for _, k := range oversignedHeaders {
		for range counts[strings.ToLower(k)] + 1 {
			keys = append(keys, k)
		}
	}
	return keys
}

// headerBlock returns the message's header, up to the empty line.
func headerBlock(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i]
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i]
	}
	return msg
}

// LoadDKIM reads a PEM private key from keyFile and checks it, and the
// selector and domain, before anything is sent.
func LoadDKIM(keyFile, selector, domain string) (*DKIMConfig, error) {
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("relay: dkim key: %w", err)
	}
	cfg := &DKIMConfig{Domain: domain, Selector: selector, KeyPEM: pemBytes}
	if _, err := cfg.signOptions(); err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, keyFile)
	}
	return cfg, nil
}

// TXTRecord returns the DNS record that publishes the public key:
// the name (selector._domainkey.domain) and the TXT value.
func (c *DKIMConfig) TXTRecord() (name, value string, err error) {
	opts, err := c.signOptions()
	if err != nil {
		return "", "", err
	}
	var algo string
	var pub []byte
	switch k := opts.Signer.Public().(type) {
	case *rsa.PublicKey:
		algo = "rsa"
		pub, err = x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", "", fmt.Errorf("relay: dkim public key: %w", err)
		}
	case ed25519.PublicKey:
		algo, pub = "ed25519", k // RFC 8463: the raw 32 bytes, not PKIX
	}
	return c.Selector + "._domainkey." + c.Domain,
		"v=DKIM1; k=" + algo + "; p=" + base64.StdEncoding.EncodeToString(pub), nil
}

// signOptions checks the configuration and returns what dkim.Sign needs.
func (c *DKIMConfig) signOptions() (*dkim.SignOptions, error) {
	if err := checkDKIMName("domain", c.Domain); err != nil {
		return nil, err
	}
	if err := checkDKIMName("selector", c.Selector); err != nil {
		return nil, err
	}
	key, err := parseDKIMKey(c.KeyPEM)
	if err != nil {
		return nil, err
	}
	return &dkim.SignOptions{
		Domain:   c.Domain,
		Selector: c.Selector,
		Signer:   key,
		// relaxed/relaxed survives the rewrapping and whitespace changes
		// relays make; simple/simple, the library default, often does not.
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             oversignedHeaders, // per message: see headerKeys
	}, nil
}

func checkDKIMName(what, s string) error {
	if s == "" {
		return fmt.Errorf("relay: dkim %s is empty", what)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return fmt.Errorf("relay: dkim %s %q has an empty label", what, s)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("relay: dkim %s %q: only letters, digits, '-', '_' and '.' are allowed", what, s)
			}
		}
	}
	return nil
}

func parseDKIMKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("relay: dkim key: no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("relay: dkim key is encrypted: store it without a passphrase")
	case "EC PRIVATE KEY":
		return nil, errors.New("relay: dkim key is ECDSA: DKIM signs with RSA or Ed25519 only")
	default:
		return nil, fmt.Errorf("relay: dkim key: PEM block %q: want a PRIVATE KEY or RSA PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("relay: dkim key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		// RFC 8301 3.2: verifiers must not accept keys under 1024 bits.
		if bits := k.N.BitLen(); bits < 1024 {
			return nil, fmt.Errorf("relay: dkim key: RSA key of %d bits: at least 1024 (2048 recommended)", bits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("relay: dkim key: %T: DKIM signs with RSA or Ed25519 only", key)
	}
}

// dkimSigner signs messages with one parsed key.
type dkimSigner struct {
	opts *dkim.SignOptions
}

// sign returns msg with a DKIM-Signature header field prepended.
func (s *dkimSigner) sign(msg []byte) ([]byte, error) {
	opts := *s.opts
	opts.HeaderKeys = headerKeys(msg)
	var out bytes.Buffer
	out.Grow(len(msg) + 700)
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// GenerateDKIMKey makes a new signing key, PKCS#8 PEM: "rsa" (2048 bits,
// which every verifier accepts) or "ed25519" (RFC 8463; not every verifier
// checks it yet, so sign with RSA too before relying on it).
func GenerateDKIMKey(algorithm string) ([]byte, error) {
	var key any
	switch algorithm {
	case "", "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("relay: generate dkim key: %w", err)
		}
		key = k
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("relay: generate dkim key: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("relay: dkim key type %q: want rsa or ed25519", algorithm)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("relay: generate dkim key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ZoneTXT formats a TXT record for a zone file, splitting the value into
// strings of at most 255 bytes as DNS requires (an RSA 2048 key needs two).
func ZoneTXT(name, value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return name + ". IN TXT ( " + strings.Join(parts, " ") + " )"
}
