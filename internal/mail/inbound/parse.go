// Package inbound receives visitors' answers to forwarded emails: it parses
// raw RFC 5322 messages (MIME structure, transfer encodings, charsets),
// recognises auto-replies and delivery status notifications, resolves the
// signed reply address to a conversation, and hands the result to the chat
// domain through a Sink. Mail arrives through the built-in SMTP server
// (server.go) or the HTTP hook for providers that POST raw MIME (hook.go).
//
// Input is never trusted: parsing is lenient (a message with broken MIME
// still yields its text), bounded (size, nesting and part-count limits) and
// never panics.
package inbound

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charsets beyond UTF-8 and US-ASCII
	gomail "github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"

	"github.com/parleychat/parley/internal/mail/htmltext"
	"github.com/parleychat/parley/internal/mail/reply"
)

// MaxMessageBytes is the largest message accepted, raw, as it arrives
// (spec/api.md, "Inbound mail").
const MaxMessageBytes = 25 << 20

// Limits that keep the work on hostile input bounded. Beyond maxDepth and
// maxParts the remaining parts are skipped, not refused: the text of a real
// message comes first.
const (
	maxDepth = 10  // nested multiparts
	maxParts = 100 // MIME entities walked in one message
	// maxDecodedBytes bounds the decoded parts together. Transfer decoding
	// only shrinks a body, but a single-byte charset can grow up to threefold
	// in UTF-8.
	maxDecodedBytes = 2 * MaxMessageBytes
	// maxHeaderBytes bounds a header block; what follows is taken as body.
	maxHeaderBytes = 1 << 20
	// maxTextBytes bounds the body text kept from the text parts together,
	// and maxHTMLTreeBytes the HTML turned into a tree (and then into
	// text): a tree costs tens of bytes per byte of markup, so a 24 MB
	// HTML body would cost gigabytes. A stored message is at most 10,000
	// characters and the new text comes first, so nothing a visitor wrote
	// is lost; what is cut is the tail of the quoted thread.
	maxTextBytes     = 1 << 20
	maxHTMLTreeBytes = 1 << 20
)

var (
	errTooLarge  = errors.New("message larger than 25 MiB")
	errMalformed = errors.New("not an email message")
)

// Message is a parsed inbound email.
type Message struct {
	MessageID  string        // without <>; "" if absent
	From       *mail.Address // nil if absent or unreadable
	Recipients []string      // To, Cc, Delivered-To and X-Original-To addresses, lower-cased, without duplicates
	Subject    string
	Date       time.Time // zero if absent or unreadable
	// AddressGeneration is the generation of the visitor's links the reply
	// address it came to was made in (Recipient.Generation); Dispatch
	// sets it.
	AddressGeneration int
	// Text is the whole body as text: the text/plain parts, or when there
	// are none the text/html parts turned into readable text.
	Text string
	// NewText is only what the sender wrote: reply.Text of the text/plain
	// parts, or reply.HTML of the HTML parts when there is no plain text.
	// It may be empty (an attachment alone, a quote alone) and is as long
	// as the sender made it. Text and NewText are valid UTF-8 with LF line
	// ends, no NUL bytes, format=flowed undone, trimmed.
	NewText string
	// MayHoldQuote is set when NewText is the whole text because no quote
	// marker was found, yet the text is long and ends like an older
	// message: the original email should be offered beside it.
	MayHoldQuote bool
	Attachments  []Attachment
	// AutoReply is a non-empty reason when the message was sent
	// automatically (RFC 3834 Auto-Submitted, X-Autoreply, Precedence,
	// an out-of-office subject, a read receipt...). A delivery status
	// notification usually has one too; Bounce is what identifies it.
	AutoReply string
	// Bounce is set for a delivery status notification (RFC 3464:
	// multipart/report; report-type=delivery-status), never for a normal
	// message.
	Bounce *Bounce
}

// Attachment is a part of a message that is not its body text.
type Attachment struct {
	Filename    string // "" if the part names none
	ContentType string // media type, lower-cased, without parameters
	Data        []byte // decoded
	Inline      bool   // shown in the body (Content-Disposition inline, or a Content-ID image)
}

// Bounce is what a delivery status notification says.
type Bounce struct {
	// Recipients are the Final-Recipient addresses (lower-cased) of the
	// failed entries, or of the delayed ones when none failed.
	Recipients []string
	Status     string // of the first such entry, e.g. "5.1.1"
	// Permanent is true when an entry's Action is "failed" with a 5.x.x
	// status: the address does not work. Delays and 4.x.x failures are not
	// permanent.
	Permanent  bool
	Diagnostic string // the first entry's Diagnostic-Code, without its type ("smtp; ")
	// OriginalMessageID is the Message-ID of the returned message (from
	// the message/rfc822 or text/rfc822-headers part), without <>.
	OriginalMessageID string
	// OriginalConversation is the returned message's X-Parley-Conversation
	// header, if present.
	OriginalConversation string
}

// ClientID returns an id of the message for the chat's idempotent client_id
// (at most 100 bytes): a hash of the Message-ID, or when there is none, of
// the sender, date, subject and text, so that the same email delivered
// twice is stored once.
func (m *Message) ClientID() string {
	h := sha256.New()
	if m.MessageID != "" {
		io.WriteString(h, "message-id\x00"+m.MessageID)
	} else {
		from := ""
		if m.From != nil {
			from = m.From.Address
		}
		fmt.Fprintf(h, "content\x00%s\x00%d\x00%s\x00%s", from, m.Date.Unix(), m.Subject, m.Text)
	}
	return "email:" + hex.EncodeToString(h.Sum(nil)[:20])
}

// Parse reads and parses one raw RFC 5322 message of at most
// MaxMessageBytes.
//
// It is lenient: a malformed Content-Type, a wrong or missing boundary, a
// missing closing delimiter, an unknown charset or transfer encoding, or a
// body that does not decode still give the readable text, falling back to
// the raw body as text/plain. It fails only for input that is not an
// email at all (no header fields of a message), for a message over
// MaxMessageBytes, and when r fails.
func Parse(r io.Reader) (*Message, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	if len(raw) > MaxMessageBytes {
		return nil, errTooLarge
	}
	return parse(raw)
}

// messageFields are header fields of which a message has at least one;
// input with none of them is not an email.
var messageFields = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type",
	"Received", "Return-Path", "Delivered-To", "Reply-To", "Sender", "In-Reply-To", "References",
}

func parse(raw []byte) (*Message, error) {
	hb, body := splitHeader(raw)
	h := parseHeader(hb)
	isMessage := false
	for _, f := range messageFields {
		if h.Has(f) {
			isMessage = true
			break
		}
	}
	if !isMessage {
		return nil, fmt.Errorf("%w: no From, To, Subject, Date or other message header field", errMalformed)
	}

	mh := gomail.Header{Header: h}
	m := &Message{
		MessageID:  messageID(h.Get("Message-Id")),
		From:       firstAddress(mh, "From"),
		Recipients: recipients(mh),
		Subject:    clean(headerText(h, "Subject")),
	}
	if d, err := mh.Date(); err == nil {
		m.Date = d
	}

	w := walker{m: m}
	if err := w.walk(h, body, 0); err != nil {
		return nil, err
	}
	plain := truncateUTF8(joinParts(w.plain), maxTextBytes)
	html := truncateUTF8(joinParts(w.html), maxHTMLTreeBytes)
	switch {
	case hasText(plain):
		m.Text = clean(plain)
		r := reply.ExtractText(plain)
		m.NewText, m.MayHoldQuote = clean(r.Text), r.Unsure
	case hasText(html):
		m.Text = clean(htmltext.String(html, htmltext.Options{}))
		r := reply.ExtractHTML(html)
		m.NewText, m.MayHoldQuote = clean(r.Text), r.Unsure
	}

	mediaType, params := contentType(h)
	if mediaType == "multipart/report" {
		switch strings.ToLower(params["report-type"]) {
		case "delivery-status":
			m.Bounce = parseBounce(w.status, w.returned)
		case "disposition-notification":
			m.AutoReply = "read receipt (RFC 8098 disposition notification)"
		case "feedback-report":
			m.AutoReply = "abuse report (RFC 5965 feedback report)"
		}
	}
	if m.AutoReply == "" {
		m.AutoReply = autoReply(h, m)
	}
	return m, nil
}

// walker collects the parts of a message as it walks the MIME tree.
type walker struct {
	m        *Message
	plain    []string // inline text/plain bodies, in order
	html     []string // inline text/html bodies, in order
	parts    int
	decoded  int
	text     int    // bytes of body text collected in plain and html
	status   []byte // a message/delivery-status body
	returned []byte // the returned message or its header, in a report
}

func (w *walker) walk(h message.Header, body []byte, depth int) error {
	w.parts++
	if w.parts > maxParts {
		return nil
	}
	mediaType, params := contentType(h)
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		if depth >= maxDepth {
			return nil
		}
		parts := splitMultipart(body, params["boundary"], maxParts-w.parts+1)
		if parts == nil {
			// No delimiter line at all: whatever this is, its body is text.
			return w.leaf(h, "text/plain", params, body)
		}
		for _, p := range parts {
			ph, pb := splitHeader(p)
			pHeader := parseHeader(ph)
			if mediaType == "multipart/alternative" {
				// Only the text and HTML versions are wanted; an alternative
				// (text/enriched, text/calendar...) is not an attachment.
				t, _ := contentType(pHeader)
				if t != "text/plain" && t != "text/html" && !strings.HasPrefix(t, "multipart/") {
					w.parts++
					continue
				}
			}
			if err := w.walk(pHeader, pb, depth+1); err != nil {
				return err
			}
		}
		return nil
	case mediaType == "message/delivery-status" || mediaType == "message/global-delivery-status":
		data, err := w.decode(h, mediaType, nil, body, -1)
		w.status = data
		return err
	case isReturnedMessage(mediaType) && depth > 0 && w.returned == nil && w.status != nil:
		// The third part of a report: the returned message (RFC 3462).
		data, err := w.decode(h, mediaType, nil, body, -1)
		w.returned = data
		return err
	}
	return w.leaf(h, mediaType, params, body)
}

func isReturnedMessage(mediaType string) bool {
	switch mediaType {
	case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
		return true
	}
	return false
}

// leaf files a single part: inline text goes to the body, the rest to the
// attachments.
func (w *walker) leaf(h message.Header, mediaType string, params map[string]string, body []byte) error {
	disposition, dparams := contentDisposition(h)
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	filename = clean(decodeWords(filename))
	isText := (mediaType == "text/plain" || mediaType == "text/html") && disposition != "attachment" && filename == ""

	keep := -1 // everything (within maxDecodedBytes)
	if isText {
		// Text beyond what is kept is not decoded at all.
		keep = max(maxTextBytes-w.text, 0) + utf8.UTFMax
	}
	data, err := w.decode(h, mediaType, params, body, keep)
	if err != nil {
		return err
	}
	if isText {
		w.text += len(data)
		s := string(data)
		if mediaType == "text/plain" && strings.EqualFold(params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		if mediaType == "text/html" {
			w.html = append(w.html, s)
		} else {
			w.plain = append(w.plain, s)
		}
		return nil
	}
	w.m.Attachments = append(w.m.Attachments, Attachment{
		Filename:    filename,
		ContentType: mediaType,
		Data:        data,
		Inline:      disposition == "inline" || disposition == "" && h.Get("Content-Id") != "",
	})
	return nil
}

// decode undoes a part's transfer encoding and, for text, converts its
// charset to UTF-8. A body that fails to decode keeps what decoded before
// the error, or its raw bytes when nothing did. With keep >= 0, only the
// first keep bytes are decoded and returned.
func (w *walker) decode(h message.Header, mediaType string, params map[string]string, body []byte, keep int) ([]byte, error) {
	encoding := transferEncoding(h)
	switch encoding {
	case "base64":
		body, encoding = lenientBase64(body), ""
	case "quoted-printable":
		body = sanitizeQP(body)
	}
	// go-message decodes from the two fields it reads; give it the cleaned
	// values rather than the part's own header.
	var dh message.Header
	if encoding != "" {
		dh.Set("Content-Transfer-Encoding", encoding)
	}
	charset := ""
	if strings.HasPrefix(mediaType, "text/") {
		charset = strings.ToLower(strings.Trim(params["charset"], `"' `))
		if charset != "" && charset != "utf-8" && charset != "us-ascii" {
			dh.SetContentType(mediaType, map[string]string{"charset": charset})
		}
	}
	e, err := message.New(dh, bytes.NewReader(body))
	converted := err == nil && dh.Has("Content-Type")
	if e == nil {
		e = &message.Entity{Body: bytes.NewReader(body)}
	}

	limit := int64(maxDecodedBytes - w.decoded)
	var data []byte
	if keep >= 0 && int64(keep) <= limit {
		data, err = io.ReadAll(io.LimitReader(e.Body, int64(keep)))
		if len(data) == keep {
			data = data[:completeRunes(data)] // cut, not mislabelled
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(e.Body, limit+1))
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("%w: decoded parts exceed %d bytes", errTooLarge, maxDecodedBytes)
		}
	}
	if err != nil && len(data) == 0 && len(body) > 0 {
		data = body // undecodable: the raw bytes are better than nothing
		if keep >= 0 && len(data) > keep {
			data = data[:keep]
		}
		converted = false
	}
	if strings.HasPrefix(mediaType, "text/") && !converted && !utf8.Valid(data) {
		// Undeclared, unknown or wrongly declared charset: 8-bit text in
		// mail is Windows-1252 far more often than anything else.
		data, _ = charmap.Windows1252.NewDecoder().Bytes(data)
	}
	w.decoded += len(data)
	return data, nil
}

// completeRunes returns the length of b without a UTF-8 sequence cut
// short at its end.
func completeRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// truncateUTF8 returns s cut to at most n bytes, at a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// transferEncoding returns the part's Content-Transfer-Encoding as
// go-message knows it: "quoted-printable", "base64", or "" for identity
// and for anything unknown, whose body is then taken as it is.
func transferEncoding(h message.Header) string {
	v := strings.ToLower(strings.Trim(h.Get("Content-Transfer-Encoding"), "\"' \t"))
	switch v {
	case "quoted-printable", "base64":
		return v
	case "base-64":
		return "base64"
	}
	return ""
}

// sanitizeQP replaces the control characters that Go's quoted-printable
// reader refuses (found in the wild in otherwise readable bodies) with
// spaces, so the rest of the body still decodes.
func sanitizeQP(b []byte) []byte {
	bad := func(c byte) bool { return c < ' ' && c != '\t' && c != '\r' && c != '\n' || c == 0x7f }
	if bytes.IndexFunc(b, func(r rune) bool { return r < 0x80 && bad(byte(r)) }) < 0 {
		return b
	}
	out := bytes.Clone(b)
	for i, c := range out {
		if bad(c) {
			out[i] = ' '
		}
	}
	return out
}

// splitMultipart returns the body parts of a multipart body: the bytes
// between delimiter lines "--boundary" (RFC 2046 section 5.1.1), up to the
// close delimiter or the end of the body, at most max of them. When the
// boundary is missing or never occurs, the first line that looks like a
// delimiter ("--" and a token) is taken as one. It returns nil when there
// is no delimiter line at all.
//
// The whole message is in memory, so splitting here rather than with a
// streaming multipart reader lets a part with a broken header, a missing
// close delimiter or a boundary the Content-Type misstates still yield its
// text, where such readers stop at the first error.
func splitMultipart(body []byte, boundary string, max int) [][]byte {
	if boundary == "" || !bytes.Contains(body, []byte("--"+boundary)) {
		boundary = sniffBoundary(body)
		if boundary == "" {
			return nil
		}
	}
	delim := []byte("--" + boundary)
	parts := [][]byte{}
	partStart := -1 // start of the current part's content; -1 in the preamble
	for i := 0; i < len(body) && len(parts) < max; {
		j := bytes.Index(body[i:], delim)
		if j < 0 {
			break
		}
		at := i + j
		end := lineEnd(body, at)
		rest := bytes.TrimRight(body[at+len(delim):end], " \t\r\n")
		closing := bytes.Equal(rest, []byte("--"))
		if (at > 0 && body[at-1] != '\n') || (len(rest) > 0 && !closing) {
			i = at + len(delim) // not a delimiter line
			continue
		}
		if partStart >= 0 {
			// The line break before the delimiter belongs to the delimiter.
			contentEnd := at
			if contentEnd > partStart && body[contentEnd-1] == '\n' {
				contentEnd--
				if contentEnd > partStart && body[contentEnd-1] == '\r' {
					contentEnd--
				}
			}
			parts = append(parts, body[partStart:contentEnd])
		}
		if closing {
			return parts
		}
		partStart = end
		i = end
	}
	if partStart < 0 {
		return nil // no delimiter line
	}
	if len(parts) < max {
		parts = append(parts, body[partStart:]) // no close delimiter
	}
	return parts
}

var delimiterLine = regexp.MustCompile(`(?m)^--([0-9A-Za-z'()+_,./:=?-][0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-])\r?$`)

// sniffBoundary returns the boundary of the first line in body that looks
// like a delimiter line, or "".
func sniffBoundary(body []byte) string {
	m := delimiterLine.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.TrimSuffix(string(m[1]), "--")
}
