package token

import (
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s := NewSigner([]byte("secret-one-0123456789"))
	sealed, err := s.Seal("identity", "plain text", "ws1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "plain text") {
		t.Fatalf("sealed value shows the plaintext: %q", sealed)
	}
	if got, err := s.Open("identity", sealed, "ws1"); err != nil || got != "plain text" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tests := []struct {
		name                     string
		signer                   *Signer
		purpose, sealed, context string
	}{
		{"other context", s, "identity", sealed, "ws2"},
		{"other purpose", s, "other", sealed, "ws1"},
		{"other secret", NewSigner([]byte("secret-two-0123456789")), "identity", sealed, "ws1"},
		{"altered", s, "identity", sealed[:len(sealed)-2] + "AA", "ws1"},
		{"no prefix", s, "identity", strings.TrimPrefix(sealed, "v1:"), "ws1"},
		{"empty", s, "identity", "", "ws1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.signer.Open(tt.purpose, tt.sealed, tt.context); !errors.Is(err, ErrUnsealable) {
				t.Fatalf("Open = %v, want ErrUnsealable", err)
			}
		})
	}
}
