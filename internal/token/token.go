// Package token makes and checks signed, opaque tokens: the TOKEN of reply
// addresses (reply+TOKEN@domain), unsubscribe links and visitor tokens,
// and signed links that expire (link.go): the links back to a conversation
// in forwarded emails and the undo link of an address change.
//
// A token carries an id and an HMAC-SHA256 of it under a key derived from
// PARLEY_SECRET and the token's purpose, so a token made for one purpose is
// worthless for another. It is written in lowercase base32 without padding,
// which is safe in an email local part, in a URL and in a cookie; Verify
// ignores case because some mail systems change the case of local parts.
//
// Ids that are lowercase hex or Parley's own lowercase base32hex ids are
// stored as the bytes they spell, which keeps a reply address for a 16-byte id
// at 53 characters, under the 64 that RFC 5321 allows a local part.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strings"
)

// Purposes used by Parley. A purpose is any string; a token verifies only
// under the purpose it was signed for.
const (
	Reply       = "reply"       // reply addresses: the id is a conversation id
	Unsubscribe = "unsubscribe" // unsubscribe links of earlier versions: the id is a visitor id
	// UnsubscribeAddress is the purpose of unsubscribe links: the id is
	// that of an address in a workspace (store.EmailAddress).
	UnsubscribeAddress = "unsubscribe-address"
	Visitor            = "visitor" // visitor tokens kept by the widget
	// Continue is the purpose of the links back to a conversation in
	// forwarded emails (SignContinue).
	Continue = "continue"
	// UndoEmail is the purpose of the link, emailed to a visitor's former
	// address, that puts it back (parts: workspace, visitor, address id).
	UndoEmail = "undo-email"
	// OptIn is the purpose of the link, emailed to an address that was
	// unsubscribed or bouncing, that makes it receive emails again (parts:
	// workspace, address id).
	OptIn = "opt-in"
	// File is the purpose of the links to files in forwarded emails
	// (parts: workspace, attachment), which work without logging in.
	File = "file"
)

// ErrInvalid is returned by Verify for every token it does not accept:
// malformed, truncated, altered, forged, or signed for another purpose or
// with another secret. It deliberately says no more than that.
var ErrInvalid = errors.New("token: invalid")

// MaxIDLen is the longest id Sign accepts, in bytes.
const MaxIDLen = 255

const (
	macLen = 12 // 96 bits: guessing is online only (one email or request per guess)

	// The first byte of a token says how the id is written after it.
	formatRaw    = 1 // the id's bytes as they are
	formatHex    = 2 // a lowercase hex id, as the bytes it spells
	formatBase32 = 3 // a lowercase base32hex id (model.NewID), as the bytes it spells
	formatLink   = 4 // an expiring link: expiry and several ids (link.go)
	// formatGen prefixes an id payload with a generation (a uvarint): see
	// SignGen. decodeID refuses it, so Verify refuses such a token.
	formatGen = 5

	keyLabel = "parley token v1\x00" // domain separation for the per-purpose keys
)

var (
	// tokenEncoding is RFC 4648 base32, lowercase, without padding.
	tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	// idBase32 is the alphabet of model.NewID.
	idBase32 = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

	maxTokenLen = tokenEncoding.EncodedLen(1 + MaxIDLen + macLen)
)

// Signer signs and verifies tokens. It is safe for concurrent use.
type Signer struct {
	secret []byte
}

// NewSigner returns a Signer keyed by secret (PARLEY_SECRET), which should
// be at least 32 random bytes; checking that is the configuration's job.
// NewSigner panics on an empty secret, which would make every token
// forgeable.
func NewSigner(secret []byte) *Signer {
	if len(secret) == 0 {
		panic("token: empty secret")
	}
	return &Signer{secret: append([]byte(nil), secret...)}
}

// Sign returns the token for id under purpose. The same purpose and id always
// give the same token. Sign panics if id is longer than MaxIDLen bytes: ids
// are made by Parley, never taken from input.
func (s *Signer) Sign(purpose, id string) string {
	if len(id) > MaxIDLen {
		panic("token: id longer than MaxIDLen")
	}
	payload := encodeID(id)
	return tokenEncoding.EncodeToString(append(payload, s.mac(purpose, payload)...))
}

// SignGen is Sign for an id that belongs to a generation of a credential
// (a visitor's links: reset, they start a new one), so that a token of an
// earlier generation can be told from the current one. Generation 0 gives
// Sign's token: tokens made before generations keep verifying as 0.
func (s *Signer) SignGen(purpose, id string, gen int) string {
	if gen <= 0 {
		return s.Sign(purpose, id)
	}
	if len(id) > MaxIDLen {
		panic("token: id longer than MaxIDLen")
	}
	payload := binary.AppendUvarint([]byte{formatGen}, uint64(gen))
	payload = append(payload, encodeID(id)...)
	return tokenEncoding.EncodeToString(append(payload, s.mac(purpose, payload)...))
}

// VerifyGen returns the id and the generation of a token of SignGen (or of
// Sign, generation 0), and ErrInvalid as Verify does.
func (s *Signer) VerifyGen(purpose, token string) (string, int, error) {
	payload, err := s.open(purpose, token, maxTokenLen)
	if err != nil {
		return "", 0, err
	}
	gen := uint64(0)
	if payload[0] == formatGen {
		g, n := binary.Uvarint(payload[1:])
		if n <= 0 || g == 0 || g > math.MaxInt32 || len(payload) < 1+n+2 {
			return "", 0, ErrInvalid
		}
		gen, payload = g, payload[1+n:]
	}
	id, ok := decodeID(payload)
	if !ok {
		return "", 0, ErrInvalid
	}
	return id, int(gen), nil
}

// Verify returns the id carried by token if token was made by Sign with the
// same secret and purpose, and ErrInvalid otherwise. Case is ignored.
func (s *Signer) Verify(purpose, token string) (string, error) {
	payload, err := s.open(purpose, token, maxTokenLen)
	if err != nil {
		return "", err
	}
	id, ok := decodeID(payload)
	if !ok {
		return "", ErrInvalid
	}
	return id, nil
}

// open checks a token's MAC under purpose and returns its payload.
func (s *Signer) open(purpose, token string, maxLen int) ([]byte, error) {
	if len(token) > maxLen {
		return nil, ErrInvalid
	}
	token = strings.ToLower(token)
	// encoding/base32 skips '\r' and '\n' and ignores the unused low bits of
	// the last character, so several strings decode to the same bytes:
	// accept only the one Sign writes.
	for i := 0; i < len(token); i++ {
		c := token[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return nil, ErrInvalid
		}
	}
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+macLen || tokenEncoding.EncodeToString(raw) != token {
		return nil, ErrInvalid
	}
	payload, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(mac, s.mac(purpose, payload)) {
		return nil, ErrInvalid
	}
	return payload, nil
}

// mac returns the truncated HMAC of payload under the key for purpose.
func (s *Signer) mac(purpose string, payload []byte) []byte {
	k := hmac.New(sha256.New, s.secret)
	k.Write([]byte(keyLabel))
	k.Write([]byte(purpose))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}

// encodeID returns the format byte followed by the id, in its shortest form
// that decodes back to exactly the same string.
func encodeID(id string) []byte {
	if b, err := hex.DecodeString(id); err == nil && len(b) > 0 && hex.EncodeToString(b) == id {
		return append([]byte{formatHex}, b...)
	}
	if b, err := idBase32.DecodeString(id); err == nil && len(b) > 0 && idBase32.EncodeToString(b) == id {
		return append([]byte{formatBase32}, b...)
	}
	return append([]byte{formatRaw}, id...)
}

// decodeID is the inverse of encodeID. Payloads come from tokens whose MAC
// has been checked, so a failure here means a bug or a compromised secret.
func decodeID(payload []byte) (string, bool) {
	b := payload[1:]
	switch payload[0] {
	case formatRaw:
		return string(b), true
	case formatHex:
		return hex.EncodeToString(b), len(b) > 0
	case formatBase32:
		return idBase32.EncodeToString(b), len(b) > 0
	}
	return "", false
}
