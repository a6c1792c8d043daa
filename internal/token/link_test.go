package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinkRoundtrip(t *testing.T) {
	s := NewSigner(testSecret)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		parts []string
	}{
		{"none", nil},
		{"one id", []string{"0cq9h2s1a4f7kj3m5n8p6r4t2s"}},
		{"ids and a number", []string{"0cq9h2s1a4f7kj3m5n8p6r4t2s", "9f86d081884c7d659a2feaa0c55ad015", "3"}},
		{"empty part", []string{"", "x", ""}},
		{"longest", []string{strings.Repeat("z", MaxLinkIDLen), strings.Repeat("y", MaxLinkIDLen)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := s.SignLink(Continue, now.Add(time.Hour), tc.parts...)
			got, err := s.VerifyLink(Continue, tok, now)
			if err != nil || strings.Join(got, "|") != strings.Join(tc.parts, "|") || len(got) != len(tc.parts) {
				t.Fatalf("VerifyLink(SignLink(%q)) = %q, %v", tc.parts, got, err)
			}
			if _, err := s.VerifyLink(Continue, strings.ToUpper(tok), now); err != nil {
				t.Errorf("upper case refused: %v", err)
			}
		})
	}
}

func TestLinkRejects(t *testing.T) {
	s := NewSigner(testSecret)
	other := NewSigner([]byte("another secret, another server.."))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	parts := []string{"0cq9h2s1a4f7kj3m5n8p6r4t2s", "0cq9h2s1a4f7kj3m5n8p6r4t2t", "0"}
	good := s.SignLink(Continue, now.Add(time.Minute), parts...)
	flip := []byte(good)
	flip[20] = map[bool]byte{true: 'b', false: 'a'}[flip[20] == 'a']
	cases := []struct {
		name string
		tok  string
		at   time.Time
		want error
	}{
		{"expired at the second", good, now.Add(time.Minute), ErrExpired},
		{"expired long ago", good, now.Add(365 * 24 * time.Hour), ErrExpired},
		{"altered", string(flip), now, ErrInvalid},
		{"truncated", good[:len(good)-3], now, ErrInvalid},
		{"extended", good + "a", now, ErrInvalid},
		{"another purpose", s.SignLink(UndoEmail, now.Add(time.Hour), parts...), now, ErrInvalid},
		{"another secret", other.SignLink(Continue, now.Add(time.Hour), parts...), now, ErrInvalid},
		{"a plain token", s.Sign(Continue, parts[0]), now, ErrInvalid},
		{"empty", "", now, ErrInvalid},
		{"not base32", "abc-def", now, ErrInvalid},
		{"far too long", strings.Repeat("a", 10000), now, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.VerifyLink(Continue, tc.tok, tc.at); !errors.Is(err, tc.want) {
				t.Fatalf("VerifyLink = %v, want %v", err, tc.want)
			}
		})
	}
	// A plain token's verifier refuses a link of the same purpose.
	if _, err := s.Verify(Continue, good); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify accepted a link: %v", err)
	}
}

func TestContinueLink(t *testing.T) {
	s := NewSigner(testSecret)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := ContinueLink{WorkspaceID: "0cq9h2s1a4f7kj3m5n8p6r4t2s", VisitorID: "1cq9h2s1a4f7kj3m5n8p6r4t2s",
		ConversationID: "2cq9h2s1a4f7kj3m5n8p6r4t2s", Generation: 7, Expires: now.Add(ContinueLinkLifetime)}
	tok := s.SignContinue(l)
	if len(tok) > 128 {
		t.Errorf("a continue link token is %d characters; keep it short for mail clients", len(tok))
	}
	got, err := s.VerifyContinue(tok, now)
	if err != nil || got != l {
		t.Fatalf("VerifyContinue = %+v, %v; want %+v", got, err, l)
	}
	got, err = s.VerifyContinue(tok, now.Add(ContinueLinkLifetime))
	if !errors.Is(err, ErrExpired) || got.VisitorID != l.VisitorID {
		t.Fatalf("after 30 days: %+v, %v; want the link and ErrExpired", got, err)
	}
	if _, err := s.VerifyContinue(s.SignLink(Continue, l.Expires, "a", "b", "c", "-1"), now); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative generation: %v", err)
	}
	if _, err := s.VerifyContinue(s.SignLink(Continue, l.Expires, "a", "b", "c"), now); !errors.Is(err, ErrInvalid) {
		t.Errorf("three parts: %v", err)
	}
}

func FuzzVerifyLink(f *testing.F) {
	s := NewSigner(testSecret)
	now := time.Unix(1e9, 0)
	f.Add(s.SignLink(Continue, now.Add(time.Hour), "a", "b"))
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		parts, err := s.VerifyLink(Continue, tok, now)
		if err == nil {
			if again := s.SignLink(Continue, now.Add(time.Hour), parts...); again == "" {
				t.Fatal("empty re-sign")
			}
		}
	})
}

func BenchmarkVerifyContinue(b *testing.B) {
	s := NewSigner(testSecret)
	now := time.Now()
	tok := s.SignContinue(ContinueLink{WorkspaceID: "0cq9h2s1a4f7kj3m5n8p6r4t2s", VisitorID: "1cq9h2s1a4f7kj3m5n8p6r4t2s",
		ConversationID: "2cq9h2s1a4f7kj3m5n8p6r4t2s", Generation: 1, Expires: now.Add(time.Hour)})
	b.ReportMetric(float64(len(tok)), "chars")
	for b.Loop() {
		if _, err := s.VerifyContinue(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
