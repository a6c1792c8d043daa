package meta

import (
	"strings"
	"testing"
)

func TestBoxRoundTrip(t *testing.T) {
	b, err := newBox([]byte("test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	const token = "EAAGm0PX4ZCpsBAKZCwZBZA3Xkq7lZCZCnZBn5ZBf0ZD"
	sealed := b.seal(token, "ws1/page_token")
	if !strings.HasPrefix(sealed, sealPrefix) || strings.Contains(sealed, token) {
		t.Fatalf("sealed form %q", sealed)
	}
	if again := b.seal(token, "ws1/page_token"); again == sealed {
		t.Error("two seals of the same value are equal: the nonce is not random")
	}
	got, err := b.open(sealed, "ws1/page_token")
	if err != nil || got != token {
		t.Fatalf("open = %q, %v", got, err)
	}

	other, _ := newBox([]byte("another-secret-0123456789abcdef"))
	tampered := sealed[:len(sealed)-2] + "AA"
	for name, tc := range map[string]struct {
		b       *box
		sealed  string
		context string
	}{
		"another workspace": {b, sealed, "ws2/page_token"},
		"another field":     {b, sealed, "ws1/app_secret"},
		"another secret":    {other, sealed, "ws1/page_token"},
		"tampered":          {b, tampered, "ws1/page_token"},
		"no prefix":         {b, strings.TrimPrefix(sealed, sealPrefix), "ws1/page_token"},
		"not base64":        {b, sealPrefix + "!!!", "ws1/page_token"},
		"too short":         {b, sealPrefix + "AAAA", "ws1/page_token"},
	} {
		if _, err := tc.b.open(tc.sealed, tc.context); err != errUndecryptable {
			t.Errorf("%s: err = %v, want errUndecryptable", name, err)
		}
	}
}

func TestLast4(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "abcdefgh": "efgh", "clé-ünïcødé": "cødé"} {
		if got := last4(in); got != want {
			t.Errorf("last4(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"object":"page","entry":[]}`)
	const secret = "c0ffee0123456789abcdef0123456789"
	header := Sign(body, secret)
	// Computed independently: printf '%s' BODY | openssl dgst -sha256 -hmac SECRET
	const want = "sha256=16c6c88e09dbbacf2f4e53dc1db9100f260d216f5c99de8e67f8b47f77f4e253"
	if header != want {
		t.Fatalf("Sign = %s, want %s", header, want)
	}
	sig, ok := parseSignature(header)
	if !ok || !validSignature(body, secret, sig) {
		t.Fatalf("own signature %q refused", header)
	}
	for name, h := range map[string]string{
		"missing":      "",
		"sha1":         "sha1=" + strings.Repeat("ab", 20),
		"no prefix":    strings.TrimPrefix(header, "sha256="),
		"short":        header[:len(header)-2],
		"not hex":      "sha256=" + strings.Repeat("zz", 32),
		"other secret": Sign(body, "another secret"),
		"other body":   Sign([]byte(`{"object":"page"}`), secret),
		"upper-cased":  "SHA256=" + strings.TrimPrefix(header, "sha256="),
	} {
		sig, ok := parseSignature(h)
		if ok && validSignature(body, secret, sig) {
			t.Errorf("%s: signature %q accepted", name, h)
		}
	}
	// Hex digits may come in either case.
	if sig, ok := parseSignature("sha256=" + strings.ToUpper(strings.TrimPrefix(header, "sha256="))); !ok || !validSignature(body, secret, sig) {
		t.Error("upper-case hex digits refused")
	}
}
