package chat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// Identity is what a site says of its logged-in user when it opens the
// widget: POST /api/widget/v1/session's "identity".
type Identity struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	// Hash is the lowercase hex HMAC-SHA256 of UserID keyed by the
	// workspace's identity secret, computed on the site's server.
	Hash string `json:"hash"`
}

// maxUserIDLen bounds a site's user id.
const maxUserIDLen = 255

// sealIdentity is the purpose the identity secrets are sealed under.
const sealIdentity = "identity secret"

var errIdentityInvalid = &Error{Code: CodeIdentityInvalid, Message: "the identity's hash does not match its user_id"}

// IdentityHash is the hash a site computes for userID with secret.
func IdentityHash(secret, userID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// IdentitySecret returns the workspace's identity secret to an admin,
// making it on first use.
func (s *Service) IdentitySecret(ctx context.Context, actor model.Agent) (string, error) {
	if err := RequireAdmin(actor); err != nil {
		return "", err
	}
	secret, err := s.identitySecret(ctx, actor.WorkspaceID)
	if err != nil || secret != "" {
		return secret, err
	}
	return s.newIdentitySecret(ctx, actor.WorkspaceID, true)
}

// RotateIdentitySecret makes a new identity secret (admins only): hashes
// made with the old one stop verifying at once.
func (s *Service) RotateIdentitySecret(ctx context.Context, actor model.Agent) (string, error) {
	if err := RequireAdmin(actor); err != nil {
		return "", err
	}
	return s.newIdentitySecret(ctx, actor.WorkspaceID, false)
}

// identitySecret returns the workspace's identity secret, "" when it has
// none.
func (s *Service) identitySecret(ctx context.Context, workspaceID string) (string, error) {
	sealed, err := s.db.IdentitySecret(ctx, workspaceID)
	if err != nil || sealed == "" {
		return "", err
	}
	secret, err := s.signer.Open(sealIdentity, sealed, workspaceID)
	if err != nil {
		return "", fmt.Errorf("identity secret of workspace %s: %w", workspaceID, err)
	}
	return secret, nil
}

func (s *Service) newIdentitySecret(ctx context.Context, workspaceID string, ifNone bool) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make identity secret: %w", err)
	}
	secret := hex.EncodeToString(b)
	sealed, err := s.signer.Seal(sealIdentity, secret, workspaceID)
	if err != nil {
		return "", fmt.Errorf("make identity secret: %w", err)
	}
	stored, err := s.db.SetIdentitySecret(ctx, workspaceID, sealed, ifNone)
	if err != nil {
		return "", err
	}
	if !stored { // another request made the first one meanwhile
		return s.identitySecret(ctx, workspaceID)
	}
	return secret, nil
}

// checkIdentity validates an identity and reports whether its hash
// verifies. A hash that does not, or none while the workspace demands
// verification: identity_invalid.
func (s *Service) checkIdentity(ctx context.Context, w model.Workspace, id *Identity) (bool, error) {
	id.UserID = strings.TrimSpace(id.UserID)
	if id.UserID == "" || len(id.UserID) > maxUserIDLen || strings.IndexFunc(id.UserID, unicode.IsControl) >= 0 {
		return false, newError(CodeBadRequest, "identity.user_id has 1 to 255 characters")
	}
	email, err := ValidateEmail(id.Email)
	if err != nil {
		return false, err
	}
	id.Email = email
	if id.Hash == "" {
		if w.Settings.IdentityVerification {
			return false, &Error{Code: CodeIdentityInvalid, Message: "this workspace verifies identities: the identity needs its hash, the HMAC-SHA256 of user_id keyed by the identity secret"}
		}
		return false, nil
	}
	secret, err := s.identitySecret(ctx, w.ID)
	if err != nil {
		return false, err
	}
	if secret == "" {
		return false, errIdentityInvalid
	}
	if subtle.ConstantTimeCompare([]byte(IdentityHash(secret, id.UserID)), []byte(id.Hash)) != 1 {
		return false, errIdentityInvalid
	}
	return true, nil
}

// identifiedVisitor returns the visitor of a verified identity: the one
// the site's user already is, else current (the anonymous visitor of this
// browser, when it is nobody else yet), else a new one.
func (s *Service) identifiedVisitor(ctx context.Context, w model.Workspace, id Identity, current *model.Visitor) (model.Visitor, error) {
	v, err := s.db.VisitorByUserID(ctx, w.ID, id.UserID)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	if current != nil && current.UserID == nil {
		v = *current
	} else {
		v = model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: s.now()}
		if err := s.db.CreateVisitor(ctx, v); err != nil {
			return v, err
		}
	}
	if err := s.db.SetVisitorUserID(ctx, v.ID, id.UserID); err != nil {
		if errors.Is(err, store.ErrDuplicate) { // the same user on another device, at the same moment
			return s.db.VisitorByUserID(ctx, w.ID, id.UserID)
		}
		return v, err
	}
	v.UserID = &id.UserID
	return v, nil
}

// applyIdentity stores the identity's email and name on the visitor when
// they differ from what it holds.
func (s *Service) applyIdentity(ctx context.Context, v model.Visitor, id Identity) (model.Visitor, error) {
	name, err := cleanName(id.Name)
	if err != nil {
		return v, err
	}
	sameEmail := v.Email != nil && strings.EqualFold(*v.Email, id.Email)
	sameName := name == nil || (v.Name != nil && *v.Name == *name)
	if sameEmail && sameName {
		return v, nil
	}
	v.Email = &id.Email
	// A verified identity's email is the site's; an unverified one is
	// what the visitor's own browser says, like the contact form.
	source := model.EmailFromContactForm
	if v.Verified() {
		source = model.EmailFromIdentity
	}
	v.EmailSource = &source
	if name != nil {
		v.Name = name
	}
	return s.saveContact(ctx, v)
}
