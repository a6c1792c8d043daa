package token

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// ErrExpired is returned by VerifyLink for a link that Parley made but whose
// time is over. Only a link whose MAC verifies is called expired: anything
// else is ErrInvalid.
var ErrExpired = errors.New("token: link expired")

// maxLinkParts bounds the ids one link carries.
const maxLinkParts = 8

// maxLinkLen is the longest link token VerifyLink reads.
var maxLinkLen = tokenEncoding.EncodedLen(1 + 8 + 1 + maxLinkParts*(2+MaxLinkIDLen) + macLen)

// MaxLinkIDLen is the longest id SignLink accepts, in bytes.
const MaxLinkIDLen = MaxIDLen - 1

// SignLink returns a token for a link that works until expires: the ids in
// parts (each at most MaxLinkIDLen bytes, at most 8 of them) are signed with
// the expiry under purpose. It is the one scheme of every link Parley puts
// in an email and wants to end: continuing a conversation, undoing an
// address change. SignLink panics on more parts or longer ids, which Parley
// makes itself.
func (s *Signer) SignLink(purpose string, expires time.Time, parts ...string) string {
	if len(parts) > maxLinkParts {
		panic("token: too many parts in a link")
	}
	payload := []byte{formatLink}
	payload = binary.BigEndian.AppendUint64(payload, uint64(expires.Unix()))
	payload = append(payload, byte(len(parts)))
	for _, p := range parts {
		if len(p) > MaxLinkIDLen {
			panic("token: id longer than MaxLinkIDLen")
		}
		enc := encodeID(p)
		payload = append(payload, byte(len(enc)))
		payload = append(payload, enc...)
	}
	return tokenEncoding.EncodeToString(append(payload, s.mac(purpose, payload)...))
}

// VerifyLink returns the parts of a link SignLink made under purpose when it
// has not expired at now; ErrExpired when it has, ErrInvalid for anything
// else (altered, forged, truncated, another purpose or secret, a token of
// Sign).
func (s *Signer) VerifyLink(purpose, tok string, now time.Time) ([]string, error) {
	parts, _, err := s.verifyLink(purpose, tok, now)
	return parts, err
}

func (s *Signer) verifyLink(purpose, tok string, now time.Time) ([]string, time.Time, error) {
	payload, err := s.open(purpose, tok, maxLinkLen)
	if err != nil {
		return nil, time.Time{}, err
	}
	parts, expires, ok := decodeLink(payload)
	if !ok {
		return nil, time.Time{}, ErrInvalid
	}
	if !now.Before(expires) {
		return parts, expires, ErrExpired
	}
	return parts, expires, nil
}

func decodeLink(payload []byte) ([]string, time.Time, bool) {
	if len(payload) < 10 || payload[0] != formatLink {
		return nil, time.Time{}, false
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0).UTC()
	n := int(payload[9])
	rest := payload[10:]
	parts := make([]string, 0, n)
	for range n {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) || rest[0] == 0 {
			return nil, time.Time{}, false
		}
		id, ok := decodeID(rest[1 : 1+int(rest[0])])
		if !ok {
			return nil, time.Time{}, false
		}
		parts = append(parts, id)
		rest = rest[1+int(rest[0]):]
	}
	if len(rest) != 0 {
		return nil, time.Time{}, false
	}
	return parts, expires, true
}

// ContinueLink names what a link back to a conversation opens: the
// visitor's website conversation, for as long as the visitor's credential
// is of the same generation (resetting the visitor's links ends it).
type ContinueLink struct {
	WorkspaceID, VisitorID, ConversationID string
	Generation                             int
	Expires                                time.Time
}

// ContinueLinkLifetime is how long a link in a forwarded email opens the
// conversation.
const ContinueLinkLifetime = 30 * 24 * time.Hour

// SignContinue returns the token of a link back to a conversation.
func (s *Signer) SignContinue(l ContinueLink) string {
	return s.SignLink(Continue, l.Expires, l.WorkspaceID, l.VisitorID, l.ConversationID, strconv.Itoa(l.Generation))
}

// VerifyContinue returns what a continue link names; errors as VerifyLink
// (with ErrExpired, the link is returned too, for the page that says so).
func (s *Signer) VerifyContinue(tok string, now time.Time) (ContinueLink, error) {
	parts, expires, err := s.verifyLink(Continue, tok, now)
	if err != nil && !errors.Is(err, ErrExpired) {
		return ContinueLink{}, err
	}
	if len(parts) != 4 {
		return ContinueLink{}, ErrInvalid
	}
	gen, convErr := strconv.Atoi(parts[3])
	if convErr != nil || gen < 0 {
		return ContinueLink{}, ErrInvalid
	}
	return ContinueLink{WorkspaceID: parts[0], VisitorID: parts[1], ConversationID: parts[2], Generation: gen, Expires: expires}, err
}
