package forward

import (
	"strings"
	"testing"
	"time"
)

func TestMaskAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"jo.doe@example.org", "j***@e***.org"},
		{"ana@mail.example.co.uk", "a***@m***.uk"},
		{"élodie@exemple.fr", "é***@e***.fr"},
		{"x@localhost", "x***@l***"},
		{"not an address", "***"},
		{"@example.org", "***"},
	} {
		if got := MaskAddress(tc.in); got != tc.want {
			t.Errorf("MaskAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestComposeAddressChange(t *testing.T) {
	in := AddressChange{WorkspaceName: `Shop <b>"&"</b>`, MailFrom: "chat@shop.example.com", To: "old@example.org",
		NewAddress: "new.person@elsewhere.net", UndoURL: "https://chat.example.com/email-change/undo/abc",
		UndoValidFor: 7 * 24 * time.Hour, MessageID: "<n1@shop.example.com>", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	msg, err := ComposeAddressChange(in)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{msg.Text, msg.HTML} {
		if !strings.Contains(part, "n***@e***.net") || !strings.Contains(part, in.UndoURL) || !strings.Contains(part, "7 days") {
			t.Errorf("a part lacks the masked address, the undo link or its lifetime:\n%s", part)
		}
		if strings.Contains(part, "new.person") || strings.Contains(part, "elsewhere") {
			t.Errorf("a part shows the new address unmasked:\n%s", part)
		}
	}
	if strings.Contains(msg.HTML, "<b>") || !strings.Contains(msg.HTML, "Shop &lt;b&gt;") {
		t.Errorf("the workspace name is not escaped in HTML:\n%s", msg.HTML)
	}
	if !strings.Contains(string(raw), "Auto-Submitted: auto-generated") {
		t.Errorf("not marked automatic:\n%s", raw)
	}
	in.UndoURL = "javascript:alert(1)"
	if _, err := ComposeAddressChange(in); err == nil {
		t.Error("a non-http undo URL was accepted")
	}
}
