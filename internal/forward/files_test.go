package forward

import (
	"strings"
	"testing"
)

// A reply's files are listed under it as links that work without logging
// in; their names are text, escaped, and nothing is listed without a way
// to make links.
func TestComposeListsFiles(t *testing.T) {
	reply := agentReply("r2", at(36, 0))
	reply.Files = []File{{ID: "f1", Name: "invoice <2>.pdf"}, {ID: "f2", Name: "photo\n.png"}}
	snap := snapshot(visitorMsg("v1", at(34, 0)), agentReply("r1", at(35, 0)), reply)
	in := composeInput(t, snap, ModeUnread)
	in.FileURL = func(id string) string { return "https://chat.example.com/files/signed-" + id }
	p := parseEmail(t, mustCompose(t, in))
	for _, want := range []string{"File: invoice <2>.pdf https://chat.example.com/files/signed-f1", "File: photo .png https://chat.example.com/files/signed-f2"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text part lacks %q:\n%s", want, p.text)
		}
	}
	for _, want := range []string{`<a href="https://chat.example.com/files/signed-f1" rel="noopener" target="_blank" style="color:#2f6feb;">invoice &lt;2&gt;.pdf</a>`} {
		if !strings.Contains(p.html, want) {
			t.Errorf("html part lacks %q:\n%s", want, p.html)
		}
	}
	// In the visitor's language, as the rest of the text part.
	in.Lang = "fr"
	if p := parseEmail(t, mustCompose(t, in)); !strings.Contains(p.text, "Fichier\u00a0: invoice <2>.pdf https://chat.example.com/files/signed-f1") {
		t.Errorf("a French text part lists its files as:\n%s", p.text)
	}
	in.Lang = ""
	in.FileURL = func(id string) string { return "javascript:alert(1)" }
	if _, err := Compose(in); err == nil {
		t.Error("a file link that is not http(s) was accepted")
	}
	in.FileURL = nil
	if p := parseEmail(t, mustCompose(t, in)); strings.Contains(p.text, "File:") || strings.Contains(p.html, "/files/") {
		t.Error("files listed without links")
	}
}
