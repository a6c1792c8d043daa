// Package message writes email messages (RFC 5322 with MIME, RFC 2045-2047):
// header fields encoded and folded, the multipart/alternative body of a text
// and an HTML part, and Message-IDs. Every mail Parley sends is written here;
// what a mail says is decided by its caller (the forwarding engine's
// compose).
package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// Message is an email ready to be written. Address fields hold header values
// as net/mail.Address.String formats them; Subject and Headers values are
// plain text (Bytes encodes them); MessageID, InReplyTo and References
// include their angle brackets.
type Message struct {
	Date       time.Time
	From       string
	To         string
	ReplyTo    string
	Subject    string
	MessageID  string
	InReplyTo  string   // the Message-ID of the message this one answers or follows; empty for none
	References []string // the Message-IDs of the thread's earlier messages, oldest first

	ListUnsubscribe     string // <URL>
	ListUnsubscribePost string // List-Unsubscribe=One-Click (RFC 8058)

	// Headers are further header fields, e.g. Auto-Submitted.
	Headers map[string]string

	Text string // the text/plain part
	HTML string // the text/html part
}

// FormatID returns s, with or without its angle brackets, as a header
// msg-id "<left@right>" (RFC 5322 section 3.6.4), or an error when s is not
// one.
func FormatID(s string) (string, error) {
	id := strings.TrimSpace(s)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>()[]\",;:`, r)
	}) {
		return "", fmt.Errorf("malformed Message-ID %q", s)
	}
	return "<" + id + ">", nil
}

// NewID returns the Message-ID "<local@domain>" of a message sent from the
// address from, on that address's domain ("localhost" when from has none),
// so that the id is unique to the sender.
func NewID(local, from string) string {
	domain := "localhost"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	return "<" + local + "@" + domain + ">"
}

// Bytes renders the message as an RFC 5322 message: CRLF line endings, a multipart/alternative
// body with a text/plain and a text/html part, both UTF-8 and quoted-printable, and non-ASCII
// header text as RFC 2047 encoded words. The output depends only on e, so a retry of the same
// message sends the same bytes.
func (e Message) Bytes() ([]byte, error) {
	b, err := e.bytes()
	if err != nil {
		return nil, fmt.Errorf("render message %s: %w", e.MessageID, err)
	}
	return b, nil
}

// structuralHeaders are the header fields Bytes writes itself; Message.Headers may not hold them.
var structuralHeaders = []string{
	"Date", "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Message-Id", "In-Reply-To", "References",
	"List-Unsubscribe", "List-Unsubscribe-Post", "Mime-Version", "Content-Type", "Content-Transfer-Encoding",
}

func (e Message) bytes() ([]byte, error) {
	if e.Date.IsZero() {
		return nil, errors.New("no Date")
	}
	if e.MessageID == "" {
		return nil, errors.New("no Message-ID")
	}
	var buf bytes.Buffer
	buf.Grow(len(e.Text) + len(e.HTML) + len(e.HTML)/8 + 2048)
	h := headerWriter{buf: &buf}

	h.write("Date", e.Date.Format(time.RFC1123Z))
	h.address("From", e.From, true)
	h.address("To", e.To, true)
	h.address("Reply-To", e.ReplyTo, false)
	h.text("Subject", e.Subject)
	h.ascii("Message-ID", e.MessageID)
	if e.InReplyTo != "" {
		h.ascii("In-Reply-To", e.InReplyTo)
	}
	if len(e.References) > 0 {
		h.ascii("References", strings.Join(e.References, " "))
	}
	if e.ListUnsubscribe != "" {
		h.ascii("List-Unsubscribe", e.ListUnsubscribe)
	}
	if e.ListUnsubscribePost != "" {
		h.ascii("List-Unsubscribe-Post", e.ListUnsubscribePost)
	}
	names := make([]string, 0, len(e.Headers))
	for name := range e.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if !validHeaderName(name) || slices.Contains(structuralHeaders, canonical) {
			return nil, fmt.Errorf("header %q cannot be set through Headers", name)
		}
		h.text(name, e.Headers[name])
	}
	h.write("MIME-Version", "1.0")

	// "=_" never occurs in quoted-printable text, so the boundary cannot collide with the parts.
	sum := sha256.Sum256([]byte(e.MessageID))
	boundary := "=_parley_" + hex.EncodeToString(sum[:12])
	h.write("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}))
	if h.err != nil {
		return nil, h.err
	}
	buf.WriteString("\r\n")

	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, err
	}
	for _, part := range []struct{ mediaType, body string }{{"text/plain", e.Text}, {"text/html", e.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.mediaType + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(part.body, "\n") {
			if _, err := qp.Write([]byte("\n")); err != nil {
				return nil, err
			}
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	buf.WriteString("\r\n")
	return buf.Bytes(), nil
}

// headerWriter writes header fields, folding long lines at spaces (RFC 5322 section 2.2.3).
// The first error sticks.
type headerWriter struct {
	buf *bytes.Buffer
	err error
}

const foldAt = 78

func (h *headerWriter) write(name, value string) {
	if h.err != nil {
		return
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		h.err = fmt.Errorf("header %s: line break in value", name)
		return
	}
	h.buf.WriteString(name)
	h.buf.WriteString(":")
	n := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		// Fold only where the line would pass foldAt, and never before the
		// first word: a value on a continuation line of its own reads, to
		// some parsers, as starting with a space.
		if i == 0 || word == "" || n+1+len(word) <= foldAt {
			h.buf.WriteByte(' ')
			n++
		} else {
			h.buf.WriteString("\r\n ")
			n = 1
		}
		h.buf.WriteString(word)
		n += len(word)
	}
	h.buf.WriteString("\r\n")
}

// text writes an unstructured field (RFC 5322 section 3.2.5), encoding non-ASCII text
// as RFC 2047 encoded words.
func (h *headerWriter) text(name, value string) {
	if strings.ContainsAny(value, "\r\n\x00") {
		if h.err == nil {
			h.err = fmt.Errorf("header %s: line break in value", name)
		}
		return
	}
	if mime.QEncoding.Encode("utf-8", value) == value {
		h.write(name, value) // nothing to encode
		return
	}
	h.write(name, strings.Join(qWords(value, foldAt-len(name)-2), " "))
}

// qWords encodes s as RFC 2047 Q encoded words: the first at most first
// characters long, so that it fits on the field's first line after
// "Name: ", the others at most 75 (RFC 2047 section 2). Words end at
// character boundaries; the spaces between them vanish on decoding.
func qWords(s string, first int) []string {
	const (
		maxWord = 75
		empty   = len("=?utf-8?q??=")
	)
	limit := max(first, 20) // a very long field name: fold after a short word
	var (
		words []string
		cur   strings.Builder
		enc   strings.Builder
	)
	n := empty // encoded length of cur once closed
	cur.WriteString("=?utf-8?q?")
	for _, r := range s {
		enc.Reset()
		for _, b := range []byte(string(r)) {
			switch {
			case b == ' ':
				enc.WriteByte('_')
			case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!*+-/", b) >= 0:
				enc.WriteByte(b)
			default:
				fmt.Fprintf(&enc, "=%02X", b)
			}
		}
		if n+enc.Len() > limit && n > empty {
			cur.WriteString("?=")
			words = append(words, cur.String())
			cur.Reset()
			cur.WriteString("=?utf-8?q?")
			n, limit = empty, maxWord
		}
		cur.WriteString(enc.String())
		n += enc.Len()
	}
	cur.WriteString("?=")
	return append(words, cur.String())
}

// ascii writes a field whose value must already be printable ASCII.
func (h *headerWriter) ascii(name, value string) {
	if strings.ContainsFunc(value, func(r rune) bool { return r >= 0x7f || (r < ' ' && r != '\t') }) {
		if h.err == nil {
			h.err = fmt.Errorf("header %s: value %q is not printable ASCII", name, value)
		}
		return
	}
	h.write(name, value)
}

// address writes a one-address field, re-formatting it so any non-ASCII name is encoded.
func (h *headerWriter) address(name, value string, required bool) {
	if value == "" {
		if required && h.err == nil {
			h.err = fmt.Errorf("no %s address", name)
		}
		return
	}
	a, err := mail.ParseAddress(value)
	if err != nil {
		if h.err == nil {
			h.err = fmt.Errorf("header %s: %w", name, err)
		}
		return
	}
	if a.Name == "" || mime.QEncoding.Encode("utf-8", a.Name) == a.Name {
		h.write(name, a.String()) // quoted as needed, nothing to encode
		return
	}
	// A non-ASCII display name: encoded words sized to the first line.
	bare := (&mail.Address{Address: a.Address}).String()
	h.write(name, strings.Join(qWords(a.Name, foldAt-len(name)-2), " ")+" "+bare)
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}
