package message

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

func sample() Message {
	return Message{
		Date:                time.Date(2026, 3, 2, 10, 50, 0, 0, time.UTC),
		From:                `"Alex via Acme" <parley@mail.example.com>`,
		To:                  `"Zoë" <zoe@example.com>`,
		ReplyTo:             "<reply+tok123@reply.example.com>",
		Subject:             "Your conversation with Café Ünïcode, Straße & Söhne — a rather long name for folding",
		MessageID:           "<c1.3@mail.example.com>",
		InReplyTo:           "<c1.2@mail.example.com>",
		References:          []string{"<c1.1@mail.example.com>", "<c1.2@mail.example.com>"},
		ListUnsubscribe:     "<https://chat.example.com/unsubscribe/tok>",
		ListUnsubscribePost: "List-Unsubscribe=One-Click",
		Headers:             map[string]string{"Auto-Submitted": "auto-generated"},
		Text:                "Hi Zoë,\n\nYou have a new reply.\n",
		HTML:                "<p>Hi Zoë,</p><p>You have a new reply.</p>",
	}
}

// readBack parses the output of Bytes with net/mail and mime/multipart and
// returns the header and the decoded parts by media type, checking the
// line rules of RFC 5322 and RFC 2045 on the way.
func readBack(t *testing.T, m Message) (mail.Header, map[string]string) {
	t.Helper()
	raw, err := m.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no end of header")
	}
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 78 && strings.Contains(line, " ") {
			t.Errorf("unfolded header line of %d characters: %q", len(line), line)
		}
	}
	for i, c := range raw {
		if c >= 0x80 || c == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("byte %#x at %d: not 7-bit CRLF text", c, i)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		typ, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("decode %s: %v", typ, err)
		}
		parts[typ] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	return msg.Header, parts
}

func TestBytes(t *testing.T) {
	m := sample()
	a, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := m.Bytes(); !bytes.Equal(a, b) {
		t.Error("Bytes is not deterministic: a retry would send other bytes")
	}

	h, parts := readBack(t, m)
	var dec mime.WordDecoder
	if got, err := dec.DecodeHeader(h.Get("Subject")); got != m.Subject || err != nil {
		t.Errorf("Subject = %q (%v)", got, err)
	}
	if to, err := h.AddressList("To"); err != nil || to[0].Name != "Zoë" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if got := h.Get("References"); got != "<c1.1@mail.example.com> <c1.2@mail.example.com>" {
		t.Errorf("References = %q", got)
	}
	if parts["text/plain"] != m.Text || parts["text/html"] != m.HTML+"\n" {
		t.Errorf("parts = %q", parts)
	}

	// A body that looks like MIME structure stays inside its part.
	tricky := sample()
	tricky.Text = "--=_parley_\r\n--" + strings.Repeat("x", 200) + "\nContent-Type: text/html\n\n.\n"
	if _, parts := readBack(t, tricky); len(parts) != 2 || parts["text/plain"] != strings.ReplaceAll(tricky.Text, "\r\n", "\n") {
		t.Errorf("tricky body did not round-trip: %q", parts)
	}

	// Extra headers with non-ASCII values are encoded.
	c := sample()
	c.Headers = map[string]string{"X-Note": "café"}
	h, _ = readBack(t, c)
	if got, err := dec.DecodeHeader(h.Get("X-Note")); got != "café" || err != nil {
		t.Errorf("X-Note = %q (%v)", got, err)
	}
	if textproto.MIMEHeader(h).Get("X-Note") == "café" {
		t.Error("X-Note was not encoded")
	}
}

func TestBytesRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Message)
		want   string
	}{
		{"no date", func(m *Message) { m.Date = time.Time{} }, "no Date"},
		{"no message id", func(m *Message) { m.MessageID = "" }, "no Message-ID"},
		{"no from", func(m *Message) { m.From = "" }, "no From"},
		{"bad to", func(m *Message) { m.To = "not an address" }, "header To"},
		{"structural header", func(m *Message) { m.Headers = map[string]string{"content-type": "text/plain"} }, "cannot be set"},
		{"bad header name", func(m *Message) { m.Headers = map[string]string{"X Bad": "1"} }, "cannot be set"},
		{"line break in a value", func(m *Message) { m.Headers = map[string]string{"X-Note": "a\r\nBcc: x@y"} }, "line break"},
		{"line break in subject", func(m *Message) { m.Subject = "a\nb" }, "line break"},
		{"8-bit message id", func(m *Message) { m.MessageID = "<é@x>" }, "not printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample()
			m.Headers = map[string]string{}
			tt.change(&m)
			if _, err := m.Bytes(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Bytes error = %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestFormatID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<a.1@example.com>", "<a.1@example.com>"},
		{" a.1@example.com ", "<a.1@example.com>"},
		{"a@b@example.com", "<a@b@example.com>"},
		{"no-at", ""},
		{"@example.com", ""},
		{"a@", ""},
		{"a b@example.com", ""},
		{"a\"@example.com", ""},
		{"é@example.com", ""},
	}
	for _, tt := range tests {
		got, err := FormatID(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("FormatID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNewID(t *testing.T) {
	tests := []struct{ from, want string }{
		{"parley@mail.example.com", "<p.1@mail.example.com>"},
		{`"Support" <help@example.org>`, "<p.1@example.org>"},
		{"", "<p.1@localhost>"},
		{"not an address", "<p.1@localhost>"},
	}
	for _, tt := range tests {
		if got := NewID("p.1", tt.from); got != tt.want {
			t.Errorf("NewID(p.1, %q) = %q, want %q", tt.from, got, tt.want)
		}
	}
}

// Header fields fold only where a line would pass 78 characters, never
// between the field name and the first word.
func TestHeaderFolding(t *testing.T) {
	tests := []struct {
		name, field, value string
		wantLines          int
	}{
		{"short", "Subject", "Your conversation with Acme", 1},
		{"long ASCII", "Subject", "Your conversation with" + strings.Repeat(" Acme Outdoor", 6), 2},
		{"one long encoded word first", "Subject", "Ünïcode" + strings.Repeat("ä", 30), 0},
		{"non-ASCII workspace", "Subject", "Your conversation with Café Ünïcode, Straße & Söhne — a rather long workspace name", 0},
		{"first word longer than a line", "X-Test", strings.Repeat("a", 120) + " tail", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := headerWriter{buf: &buf}
			h.text(tc.field, tc.value)
			if h.err != nil {
				t.Fatal(h.err)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\r\n"), "\r\n")
			if first := lines[0]; first == tc.field+":" || !strings.HasPrefix(first, tc.field+": ") || strings.TrimSpace(strings.TrimPrefix(first, tc.field+":")) == "" {
				t.Errorf("first line %q: the value does not start on it", first)
			}
			for i, l := range lines {
				if i > 0 && !strings.HasPrefix(l, " ") {
					t.Errorf("line %d %q is not a continuation", i, l)
				}
				if len(l) > foldAt && !strings.HasPrefix(tc.value, strings.Repeat("a", 100)) {
					t.Errorf("line %d is %d long: %q", i, len(l), l)
				}
			}
			if tc.wantLines > 0 && len(lines) != tc.wantLines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tc.wantLines, buf.String())
			}
			// Unfolded and decoded, the value is whole.
			msg, err := mail.ReadMessage(strings.NewReader(buf.String() + "\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get(tc.field))
			if err != nil || got != tc.value {
				t.Errorf("reads back %q (%v), want %q", got, err, tc.value)
			}
		})
	}
}
