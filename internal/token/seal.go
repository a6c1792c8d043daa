package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealPrefix versions the format of sealed values.
const sealPrefix = "v1:"

// ErrUnsealable is returned by Open for a value it cannot decrypt: made
// under another PARLEY_SECRET, purpose or context, or altered.
var ErrUnsealable = errors.New("token: stored secret cannot be decrypted (was PARLEY_SECRET changed?)")

// Seal encrypts plaintext for storage with AES-256-GCM under a key derived
// from the secret and purpose by HKDF-SHA256. context (e.g. the workspace
// id) is authenticated with it, so a value copied to another row does not
// open.
func (s *Signer) Seal(purpose, plaintext, context string) (string, error) {
	aead, err := s.aead(purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: read random: %w", err)
	}
	return sealPrefix + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))), nil
}

// Open decrypts what Seal made with the same purpose and context.
func (s *Signer) Open(purpose, sealed, context string) (string, error) {
	aead, err := s.aead(purpose)
	if err != nil {
		return "", err
	}
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", ErrUnsealable
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	n := aead.NonceSize()
	if err != nil || len(data) < n {
		return "", ErrUnsealable
	}
	plain, err := aead.Open(nil, data[:n], data[n:], []byte(context))
	if err != nil {
		return "", ErrUnsealable
	}
	return string(plain), nil
}

func (s *Signer) aead(purpose string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, s.secret, nil, "parley seal "+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", purpose, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", purpose, err)
	}
	return cipher.NewGCM(block)
}
