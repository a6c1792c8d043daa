package chat

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
)

func TestValidateEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"vera@example.com", "vera@example.com", true},
		{"  Vera.Smith+chat@Example.COM ", "Vera.Smith+chat@example.com", true},
		{"o'brien@example.co.uk", "o'brien@example.co.uk", true},
		{"", "", false},
		{"vera", "", false},
		{"vera@", "", false},
		{"@example.com", "", false},
		{"vera@example", "", false},
		{"vera@.example.com", "", false},
		{"vera@example..com", "", false},
		{"vera smith@example.com", "", false},
		{"Vera <vera@example.com>", "", false},
		{"vera@example.com, bob@example.com", "", false},
		{"vera@exa\xffmple.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	}
	for _, tt := range tests {
		got, err := ValidateEmail(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ValidateEmail(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && ErrorCode(err) != CodeInvalidEmail {
			t.Errorf("ValidateEmail(%q): code %q", tt.in, ErrorCode(err))
		}
	}
}

func TestContactFormRequired(t *testing.T) {
	email := "v@example.com"
	anon, known := model.Visitor{}, model.Visitor{Email: &email}
	settings := func(offline bool, online string) model.Settings {
		return model.Settings{ContactForm: model.ContactForm{OfflineRequiresForm: offline, Online: online}}
	}
	tests := []struct {
		name      string
		st        model.Settings
		available bool
		v         model.Visitor
		want      bool
	}{
		{"offline, form demanded, no email", settings(true, "optional"), false, anon, true},
		{"offline, form demanded, email known", settings(true, "optional"), false, known, false},
		{"offline, form not demanded", settings(false, "optional"), false, anon, false},
		{"online, optional form", settings(true, "optional"), true, anon, false},
		{"online, no form", settings(true, "off"), true, anon, false},
		{"online, required form", settings(false, "required"), true, anon, true},
		{"online, required form, email known", settings(false, "required"), true, known, false},
	}
	for _, tt := range tests {
		if got := contactFormRequired(tt.st, tt.available, tt.v); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckBody(t *testing.T) {
	tests := []struct {
		body, code string
	}{
		{"hello", ""},
		{strings.Repeat("é", MaxMessageLength), ""},
		{strings.Repeat("é", MaxMessageLength+1), CodeMessageTooLong},
		{" \n\t ", CodeEmptyMessage},
		{"bad \xff utf-8", CodeBadRequest},
	}
	for _, tt := range tests {
		_, err := checkBody(tt.body)
		if got := ErrorCode(err); got != tt.code {
			t.Errorf("checkBody(%.20q…): code %q, want %q", tt.body, got, tt.code)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(1, 3)
	now := time.Now()
	for i := 0; i < 3; i++ {
		if !l.allow("v", now) {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	if l.allow("v", now) {
		t.Fatal("call over the burst allowed")
	}
	if !l.allow("other", now) {
		t.Fatal("keys share a bucket")
	}
	if !l.allow("v", now.Add(1100*time.Millisecond)) {
		t.Fatal("the bucket did not refill")
	}
}

// A slow bucket emptied is not forgotten before it would be full again:
// waiting out the ten minutes that forget a quick one gives nothing back.
func TestLimiterKeepsSlowBuckets(t *testing.T) {
	l := newLimiter(1.0/3600, 2) // 2, then one an hour
	now := time.Now()
	l.allow("addr", now)
	l.allow("addr", now)
	if l.allow("addr", now) {
		t.Fatal("call over the burst allowed")
	}
	if l.allow("addr", now.Add(11*time.Minute)) {
		t.Fatal("an emptied slow bucket was forgotten after 11 minutes")
	}
	if !l.allow("addr", now.Add(62*time.Minute)) {
		t.Fatal("the slow bucket did not refill in an hour")
	}
	later := now.Add(5 * time.Hour)
	for i := range 2 {
		if !l.allow("addr", later) {
			t.Fatalf("call %d: the slow bucket was not full again after 5 hours", i)
		}
	}
}

// The bytes of visitors' files: 100 MiB from one address, 200 MiB from a
// whole site, in a burst; nothing with PARLEY_RATE_LIMITS=off.
func TestVisitorUploadBytesLimits(t *testing.T) {
	const file = MaxUploadBytes
	now := time.Now()
	al := newAddressLimits(false)
	take := func(addr, site string) error {
		return al.checkN(al.uploadBytesByAddr, al.uploadBytesBySite, addr, site, now, file, "files")
	}
	for i := range 10 {
		if err := take("203.0.113.1", "w1"); err != nil {
			t.Fatalf("file %d of one address: %v", i, err)
		}
	}
	if err := take("203.0.113.1", "w1"); ErrorCode(err) != CodeRateLimited {
		t.Fatalf("the 11th file of one address: %v", err)
	}
	if err := take("203.0.113.1", "w2"); ErrorCode(err) != CodeRateLimited {
		t.Fatalf("the address's budget is not per site: %v", err)
	}
	for i := range 10 {
		if err := take(fmt.Sprint("198.51.100.", i), "w1"); err != nil {
			t.Fatalf("file of the site from a second address %d: %v", i, err)
		}
	}
	if err := take("192.0.2.1", "w1"); ErrorCode(err) != CodeRateLimited {
		t.Fatalf("the site's 21st file: %v", err)
	}
	if err := take("192.0.2.1", "w2"); err != nil {
		t.Fatalf("another site: %v", err)
	}
	off := newAddressLimits(true)
	for i := range 30 {
		if err := off.checkN(off.uploadBytesByAddr, off.uploadBytesBySite, "203.0.113.1", "w1", now, file, "files"); err != nil {
			t.Fatalf("limits off, file %d: %v", i, err)
		}
	}
}

// TestNames: a name given by a person or a site is kept on one line and
// without the characters that make it read as other text; the joiners
// scripts need stay.
func TestNames(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"  Lea Martin ", "Lea Martin"},
		{"Lea,\r\n\r\nIMPORTANT: log in at http://phish.example", "Lea, IMPORTANT: log in at http://phish.example"},
		{"Ann\tLee", "Ann Lee"},
		{"Lea\u2028Martin\u2029", "Lea Martin"},
		{"\u202Egnp.exe", "gnp.exe"},
		{"Ali \u2067\u05E9\u05DC\u05D5\u05DD\u2069 Ben", "Ali \u05E9\u05DC\u05D5\u05DD Ben"},
		{"\u0645\u0647\u200C\u0633\u0627", "\u0645\u0647\u200C\u0633\u0627"}, // a Persian name keeps its ZWNJ
		{"\U0001F469\u200D\U0001F4BB Kim", "\U0001F469\u200D\U0001F4BB Kim"}, // an emoji sequence keeps its ZWJ
		{"Al\u200Bice\uFEFF", "Alice"},                                       // no name passing for another
		{"\u05D3\u05E0\u05D4\u200F", "\u05D3\u05E0\u05D4\u200F"},             // a right-to-left mark stays
		{"\n\u202E\t", ""},
	}
	for _, tc := range tests {
		got, err := cleanName(tc.raw)
		if err != nil {
			t.Fatalf("%q: %v", tc.raw, err)
		}
		if tc.want == "" {
			if got != nil {
				t.Errorf("%q: %q, want no name", tc.raw, *got)
			}
			continue
		}
		if got == nil || *got != tc.want {
			t.Errorf("%q: %v, want %q", tc.raw, got, tc.want)
		}
	}
	if n, err := workspaceName("Acme\nSupport\u202E"); err != nil || n != "Acme Support" {
		t.Errorf("workspace name %q, %v; want %q", n, err, "Acme Support")
	}
	for raw, want := range map[string]string{
		"\r\n":                   "a workspace name cannot be blank",
		strings.Repeat("K", 101): "a workspace name has at most 100 characters",
	} {
		var e *Error
		if _, err := workspaceName(raw); !errors.As(err, &e) || e.Message != want {
			t.Errorf("workspace name %q: %v, want %q", raw, err, want)
		}
	}
}
