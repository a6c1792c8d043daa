package token

import (
	"errors"
	"strings"
	"testing"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// ids of the shapes Parley uses, plus awkward ones.
var testIDs = []struct {
	name string
	id   string
}{
	{"model id", "0cq9h2s1a4f7kj3m5n8p6r4t2s"},             // model.NewID: 16 bytes in lowercase base32hex
	{"non-canonical base32", "0cq9h2s1a4f7kj3m5n8p6r4t2v"}, // low bits set: kept raw
	{"hex", "9f86d081884c7d659a2feaa0c55ad015"},            // random 16 bytes in hex
	{"uppercase hex", "9F86D081884C7D659A2FEAA0"},          // not canonical hex: kept raw
	{"odd hex", "abc"},
	{"uuid", "123e4567-e89b-12d3-a456-426614174000"},
	{"email-ish", "Visitor+1@example.org"},
	{"one byte", "x"},
	{"empty", ""},
	{"binary", "\x00\xff\x01 \r\n"},
	{"max length", strings.Repeat("z", MaxIDLen)},
}

func TestRoundtrip(t *testing.T) {
	s := NewSigner(testSecret)
	for _, tc := range testIDs {
		t.Run(tc.name, func(t *testing.T) {
			tok := s.Sign(Reply, tc.id)
			if tok != strings.ToLower(tok) || strings.ContainsAny(tok, "=+/-_.") {
				t.Fatalf("token %q is not lowercase base32 without padding", tok)
			}
			if again := s.Sign(Reply, tc.id); again != tok {
				t.Fatalf("Sign is not deterministic: %q then %q", tok, again)
			}
			got, err := s.Verify(Reply, tok)
			if err != nil || got != tc.id {
				t.Fatalf("Verify(Sign(%q)) = %q, %v", tc.id, got, err)
			}
		})
	}
}

func TestReplyAddressFitsLocalPart(t *testing.T) {
	// RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
	s := NewSigner(testSecret)
	for _, id := range []string{"0cq9h2s1a4f7kj3m5n8p6r4t2s", "9f86d081884c7d659a2feaa0c55ad015"} {
		local := "reply+" + s.Sign(Reply, id)
		if len(local) > 64 {
			t.Errorf("local part %q is %d octets, over 64", local, len(local))
		}
	}
}

func TestCaseInsensitive(t *testing.T) {
	s := NewSigner(testSecret)
	const id = "0cq9h2s1a4f7kj3m5n8p6r4t2s"
	tok := s.Sign(Reply, id)
	mixed := []byte(tok)
	for i := 0; i < len(mixed); i += 2 {
		mixed[i] = byte(strings.ToUpper(string(mixed[i]))[0])
	}
	for _, v := range []string{strings.ToUpper(tok), string(mixed)} {
		if got, err := s.Verify(Reply, v); err != nil || got != id {
			t.Errorf("Verify(%q) = %q, %v; want %q", v, got, err, id)
		}
	}
}

func TestRejects(t *testing.T) {
	s := NewSigner(testSecret)
	const id = "9f86d081884c7d659a2feaa0c55ad015"
	tok := s.Sign(Reply, id)
	raw, err := tokenEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return tokenEncoding.EncodeToString(b)
	}
	tests := []struct {
		name    string
		signer  *Signer
		purpose string
		token   string
	}{
		{"wrong purpose", s, Unsubscribe, tok},
		{"empty purpose", s, "", tok},
		{"wrong key", NewSigner([]byte("another secret, also 32 bytes..")), Reply, tok},
		{"flipped bit in mac", s, Reply, flip(len(raw) - 1)},
		{"flipped first mac bit", s, Reply, flip(len(raw) - macLen)},
		{"flipped bit in id", s, Reply, flip(3)},
		{"flipped format byte", s, Reply, flip(0)},
		{"truncated by one char", s, Reply, tok[:len(tok)-1]},
		{"truncated by one byte", s, Reply, tokenEncoding.EncodeToString(raw[:len(raw)-1])},
		{"mac only", s, Reply, tokenEncoding.EncodeToString(raw[len(raw)-macLen:])},
		{"id only", s, Reply, tokenEncoding.EncodeToString(raw[:len(raw)-macLen])},
		{"extended", s, Reply, tok + "a"},
		{"empty", s, Reply, ""},
		{"padding", s, Reply, tok + "="},
		{"newline inside", s, Reply, tok[:10] + "\n" + tok[10:]},
		{"whitespace", s, Reply, " " + tok},
		{"outside alphabet", s, Reply, strings.Replace(tok, tok[:1], "1", 1)},
		{"non-canonical last char", s, Reply, nonCanonical(t, tok)},
		{"too long", s, Reply, strings.Repeat("a", maxTokenLen+8)},
		{"forged with empty mac", s, Reply, tokenEncoding.EncodeToString(append(raw[:len(raw)-macLen:len(raw)-macLen], make([]byte, macLen)...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.signer.Verify(tc.purpose, tc.token)
			if !errors.Is(err, ErrInvalid) || got != "" {
				t.Fatalf("Verify(%q) = %q, %v; want ErrInvalid", tc.token, got, err)
			}
		})
	}
}

// nonCanonical returns tok with the unused low bits of its last character
// set: the same bytes to encoding/base32, a different string.
func nonCanonical(t *testing.T, tok string) string {
	t.Helper()
	// 29 bytes = 232 bits in 47 characters (235 bits): 3 unused bits.
	if len(tok) != 47 {
		t.Fatalf("test assumes a 47-character token, got %d", len(tok))
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	alt := tok[:len(tok)-1] + string(alphabet[last|1])
	if alt == tok {
		alt = tok[:len(tok)-1] + string(alphabet[last|2])
	}
	if b1, _ := tokenEncoding.DecodeString(tok); string(b1) != mustDecode(t, alt) {
		t.Fatalf("test premise: %q and %q should decode alike", tok, alt)
	}
	return alt
}

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := tokenEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPurposesAreIndependent(t *testing.T) {
	s := NewSigner(testSecret)
	const id = "0cq9h2s1a4f7kj3m5n8p6r4t2s"
	seen := map[string]string{}
	for _, p := range []string{Reply, Unsubscribe, Visitor, "replyx", "repl"} {
		tok := s.Sign(p, id)
		if other, ok := seen[tok]; ok {
			t.Fatalf("purposes %q and %q give the same token", p, other)
		}
		seen[tok] = p
	}
}

func TestNewSignerCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	s := NewSigner(secret)
	tok := s.Sign(Visitor, "v1")
	secret[0] ^= 0xff
	if _, err := s.Verify(Visitor, tok); err != nil {
		t.Fatalf("changing the caller's slice changed the signer: %v", err)
	}
}

func TestPanicsOnProgrammerErrors(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("empty secret", func() { NewSigner(nil) })
	mustPanic("long id", func() { NewSigner(testSecret).Sign(Reply, strings.Repeat("x", MaxIDLen+1)) })
}

func FuzzVerify(f *testing.F) {
	s := NewSigner(testSecret)
	for _, tc := range testIDs {
		f.Add(Reply, s.Sign(Reply, tc.id))
	}
	f.Add(Visitor, strings.ToUpper(s.Sign(Visitor, "abc")))
	f.Add(Reply, "")
	f.Add(Reply, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add(Reply, "\n\r===")
	f.Fuzz(func(t *testing.T, purpose, tok string) {
		id, err := s.Verify(purpose, tok)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || id != "" {
				t.Fatalf("Verify(%q) = %q, %v", tok, id, err)
			}
			return
		}
		// Only the token Sign writes (up to case) is accepted.
		if want := s.Sign(purpose, id); want != strings.ToLower(tok) {
			t.Fatalf("Verify accepted %q for id %q; Sign gives %q", tok, id, want)
		}
	})
}

func FuzzRoundtrip(f *testing.F) {
	s := NewSigner(testSecret)
	for _, tc := range testIDs {
		f.Add(tc.id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if len(id) > MaxIDLen {
			return
		}
		got, err := s.Verify(Reply, s.Sign(Reply, id))
		if err != nil || got != id {
			t.Fatalf("Verify(Sign(%q)) = %q, %v", id, got, err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := NewSigner(testSecret)
	tok := s.Sign(Reply, "0cq9h2s1a4f7kj3m5n8p6r4t2s")
	for b.Loop() {
		if _, err := s.Verify(Reply, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// A token of a generation verifies with it; generation 0 is Sign's token
// (tokens made before generations); Verify refuses a generation's token,
// and a token is refused under another purpose or altered.
func TestSignGen(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	id := "00363s2q29n4idkdsfrg8aq59c"
	if s.SignGen(Reply, id, 0) != s.Sign(Reply, id) {
		t.Error("generation 0 is not Sign's token")
	}
	tests := []struct {
		name string
		gen  int
	}{{"first", 0}, {"after a reset", 1}, {"many resets", 300}}
	for _, tt := range tests {
		tok := s.SignGen(Reply, id, tt.gen)
		if len("reply+"+tok) > 64 {
			t.Errorf("%s: a reply address's local part of %d characters (at most 64)", tt.name, len("reply+"+tok))
		}
		got, gen, err := s.VerifyGen(Reply, tok)
		if err != nil || got != id || gen != tt.gen {
			t.Errorf("%s: VerifyGen = %q, %d, %v", tt.name, got, gen, err)
		}
		if _, _, err := s.VerifyGen(Unsubscribe, tok); err == nil {
			t.Errorf("%s: verified under another purpose", tt.name)
		}
		if tt.gen > 0 {
			if _, err := s.Verify(Reply, tok); err == nil {
				t.Errorf("%s: Verify took a generation's token", tt.name)
			}
		}
		altered := []byte(tok)
		altered[3] ^= 1
		if _, _, err := s.VerifyGen(Reply, string(altered)); err == nil {
			t.Errorf("%s: an altered token verified", tt.name)
		}
	}
}
