package meta

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// keyInfo separates this key from every other use of PARLEY_SECRET.
const keyInfo = "parley meta channel"

// sealPrefix versions the ciphertext format, so that a later change of
// algorithm or key can tell old values apart.
const sealPrefix = "v1:"

// box encrypts the secrets of connected accounts (the Page access token and
// the app secret) with AES-256-GCM under a key derived from PARLEY_SECRET by
// HKDF-SHA256.
type box struct{ aead cipher.AEAD }

func newBox(secret []byte) (*box, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive channel key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("channel key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("channel key: %w", err)
	}
	return &box{aead: aead}, nil
}

// seal encrypts plaintext. context (the workspace and the field) is
// authenticated with it, so that a ciphertext copied to another row or
// field does not decrypt.
func (b *box) seal(plaintext, context string) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// errUndecryptable means a stored secret cannot be read back: PARLEY_SECRET
// changed since it was stored, or the row was altered.
var errUndecryptable = errors.New("stored secret cannot be decrypted (was PARLEY_SECRET changed?); connect the Page again in Settings → Channels")

// open decrypts what seal produced with the same context.
func (b *box) open(sealed, context string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errUndecryptable
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errUndecryptable
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(context))
	if err != nil {
		return "", errUndecryptable
	}
	return string(plain), nil
}

// last4 is what the settings page shows of a secret.
func last4(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return string(r)
	}
	return string(r[len(r)-4:])
}

// hashVerifyToken is how the webhook verify token is stored and looked up.
func hashVerifyToken(tok string) string {
	sum := sha256.Sum256([]byte("parley verify token\x00" + tok))
	return hex.EncodeToString(sum[:])
}
