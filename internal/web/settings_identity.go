package web

import (
	"fmt"
	"net/http"
)

// identityExample is server-side code that computes an identity's hash,
// shown in Settings for the site's developers to copy.
type identityExample struct {
	ID, Language, Code string
}

// identityExamples returns the examples with the workspace's secret in
// them (html/template escapes them where they are shown).
func identityExamples(secret string) []identityExample {
	return []identityExample{
		{"identity-go", "Go", fmt.Sprintf(`import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// parleyHash is the hash for Parley.identify.
func parleyHash(userID string) string {
	m := hmac.New(sha256.New, []byte(%q))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}`, secret)},
		{"identity-node", "Node.js", fmt.Sprintf(`const crypto = require('node:crypto');

// parleyHash is the hash for Parley.identify.
function parleyHash(userId) {
  return crypto.createHmac('sha256', '%s').update(String(userId)).digest('hex');
}`, secret)},
		{"identity-php", "PHP", fmt.Sprintf(`<?php
// The hash for Parley.identify.
function parley_hash(string $userId): string {
    return hash_hmac('sha256', $userId, '%s');
}`, secret)},
		{"identity-python", "Python", fmt.Sprintf(`import hashlib
import hmac

def parley_hash(user_id: str) -> str:
    """The hash for Parley.identify."""
    return hmac.new(b"%s", user_id.encode(), hashlib.sha256).hexdigest()`, secret)},
	}
}

// dashRotateIdentitySecret makes a new identity secret (admins only).
func (s *Server) dashRotateIdentitySecret(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.svc.RotateIdentitySecret(r.Context(), sess.agent); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings?saved=1#identity", http.StatusSeeOther)
}
