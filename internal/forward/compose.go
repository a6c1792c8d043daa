package forward

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
)

// Email is a composed forwarded email, ready for the outbox. Address fields hold header values
// as net/mail.Address.String formats them; Subject and Headers values are plain text (Bytes
// encodes them); MessageID, InReplyTo and References include their angle brackets.
type Email struct {
	Date       time.Time
	From       string // "AGENT via WORKSPACE" <PARLEY_MAIL_FROM>
	To         string // the visitor
	ReplyTo    string // reply+TOKEN@PARLEY_INBOUND_DOMAIN
	Subject    string
	MessageID  string
	InReplyTo  string   // the Message-ID of the conversation's previous email; empty for the first
	References []string // the Message-IDs of all the conversation's earlier emails, oldest first

	ListUnsubscribe     string // <URL>
	ListUnsubscribePost string // List-Unsubscribe=One-Click (RFC 8058)

	// Headers are further header fields, e.g. Auto-Submitted and X-Parley-Conversation.
	Headers map[string]string

	Text string // the text/plain part
	HTML string // the text/html part
}

// ComposeInput is everything Compose needs. The caller computes the addresses, URLs and
// Message-IDs; Compose only formats.
type ComposeInput struct {
	Decision Decision // a Send decision
	Snapshot Snapshot // the snapshot Decision was made from
	Mode     Mode

	WorkspaceName string
	AgentName     string // author of the newest pending reply; empty: taken from Decision
	MailFrom      string // PARLEY_MAIL_FROM

	ReplyTo         string // reply+TOKEN@domain
	UnsubscribeURL  string // absolute http(s) URL; one-click POST target too
	ConversationURL string // absolute http(s) link back to the website conversation; empty: no link

	MessageID string   // stable per email, so a retry reuses it
	Previous  []string // Message-IDs of the conversation's earlier emails, oldest first

	Location *time.Location // zone of the times in the body; nil: UTC
	Now      time.Time      // the email's Date
}

// ErrForwardingOff is returned by Preview for ModeOff, which sends no email to preview.
var ErrForwardingOff = errors.New("email forwarding is off: no email is sent")

// Headers set by Compose beyond the named Email fields.
const (
	headerAutoSubmitted = "Auto-Submitted"
	headerConversation  = "X-Parley-Conversation"
	// Asks Exchange and Outlook not to answer with out-of-office or auto-replies. Delivery
	// reports (DR, NDR) are deliberately not suppressed: bounces must come back.
	headerSuppress = "X-Auto-Response-Suppress"
)

//go:embed templates/email.txt.tmpl templates/email.html.tmpl
var templateFS embed.FS

var (
	textTemplate = texttemplate.Must(texttemplate.New("email.txt.tmpl").ParseFS(templateFS, "templates/email.txt.tmpl"))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("email.html.tmpl").
			Funcs(htmltemplate.FuncMap{"lines": func(s string) []string { return strings.Split(s, "\n") }}).
			ParseFS(templateFS, "templates/email.html.tmpl"))
)

// emailView is the data of both templates. Every string is plain text: html/template escapes it.
type emailView struct {
	Subject         string
	Greeting        string
	Intro           string
	Omitted         string // e.g. "9 earlier messages are not shown."; empty: none
	Messages        []messageView
	ConversationURL string
	UnsubscribeURL  string
	Footer          string
}

type messageView struct {
	Author  string
	Time    string
	Body    string
	New     bool // a pending reply
	Visitor bool
}

// Compose builds the email for a Send decision: the headers of spec/api.md and a body listing
// Decision.Messages, with the pending replies marked new.
func Compose(in ComposeInput) (Email, error) {
	e, err := compose(in)
	if err != nil {
		return Email{}, fmt.Errorf("compose email for conversation %s: %w", in.Snapshot.ConversationID, err)
	}
	return e, nil
}

func compose(in ComposeInput) (Email, error) {
	d := in.Decision
	if d.Outcome != Send || len(d.Messages) == 0 {
		return Email{}, fmt.Errorf("decision is %s (%s), not a send", d.Outcome, d.Code)
	}
	mode := in.Mode
	switch mode {
	case "":
		mode = ModeUnread
	case ModeUnread, ModeTranscript:
	default:
		return Email{}, fmt.Errorf("mode %q sends no email", string(mode))
	}
	if in.Now.IsZero() {
		return Email{}, errors.New("no date (Now)")
	}
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	convID := oneLine(in.Snapshot.ConversationID)
	if convID == "" {
		return Email{}, errors.New("no conversation id")
	}

	to, err := parseAddress("visitor", in.Snapshot.VisitorEmail)
	if err != nil {
		return Email{}, err
	}
	from, err := parseAddress("mail from", in.MailFrom)
	if err != nil {
		return Email{}, err
	}
	replyTo, err := parseAddress("reply-to", in.ReplyTo)
	if err != nil {
		return Email{}, err
	}
	msgID, err := messageID(in.MessageID)
	if err != nil {
		return Email{}, err
	}
	refs := make([]string, 0, len(in.Previous))
	for _, p := range in.Previous {
		id, err := messageID(p)
		if err != nil {
			return Email{}, fmt.Errorf("previous email: %w", err)
		}
		refs = append(refs, id)
	}
	unsubscribe, err := webURL("unsubscribe URL", in.UnsubscribeURL)
	if err != nil {
		return Email{}, err
	}
	var conversationURL string
	if in.ConversationURL != "" {
		if conversationURL, err = webURL("conversation URL", in.ConversationURL); err != nil {
			return Email{}, err
		}
	}

	workspace := oneLine(in.WorkspaceName)
	visitorName := oneLine(in.Snapshot.VisitorName)
	agent := oneLine(in.AgentName)
	if agent == "" {
		agent = newestPendingAuthor(d)
	}
	from.Name = senderName(agent, workspace)
	to.Name = visitorName

	view := emailView{
		Subject:         subject(workspace),
		Greeting:        "Hi,",
		Intro:           intro(len(d.Pending), workspace, mode),
		Omitted:         omitted(in.Snapshot.Messages, len(d.Messages)),
		ConversationURL: conversationURL,
		UnsubscribeURL:  unsubscribe,
		Footer:          footer(workspace),
		Messages:        make([]messageView, 0, len(d.Messages)),
	}
	if visitorName != "" {
		view.Greeting = "Hi " + visitorName + ","
	}
	year := in.Now.In(loc).Year()
	for _, m := range d.Messages {
		mv := messageView{
			Time: messageTime(m.CreatedAt.In(loc), year),
			Body: normalizeBody(m.Body),
			New:  slices.Contains(d.Pending, m.ID),
		}
		switch m.AuthorKind {
		case AuthorVisitor:
			mv.Visitor = true
			mv.Author = cmp.Or(visitorName, "You")
		default:
			mv.Author = cmp.Or(oneLine(m.AuthorName), workspace, "Support")
		}
		view.Messages = append(view.Messages, mv)
	}

	var text, html strings.Builder
	if err := textTemplate.Execute(&text, view); err != nil {
		return Email{}, fmt.Errorf("render text part: %w", err)
	}
	if err := htmlTemplate.Execute(&html, view); err != nil {
		return Email{}, fmt.Errorf("render html part: %w", err)
	}

	e := Email{
		Date:                in.Now.UTC(),
		From:                from.String(),
		To:                  to.String(),
		ReplyTo:             replyTo.String(),
		Subject:             view.Subject,
		MessageID:           msgID,
		References:          refs,
		ListUnsubscribe:     "<" + unsubscribe + ">",
		ListUnsubscribePost: "List-Unsubscribe=One-Click",
		Headers: map[string]string{
			headerAutoSubmitted: "auto-generated",
			headerConversation:  convID,
			headerSuppress:      "OOF, AutoReply",
		},
		Text: text.String(),
		HTML: html.String(),
	}
	if len(refs) > 0 {
		e.InReplyTo = refs[len(refs)-1]
	}
	return e, nil
}

// subject is the same for every email of a conversation, so mail clients thread them.
func subject(workspace string) string {
	if workspace == "" {
		return "Your conversation"
	}
	return "Your conversation with " + workspace
}

func senderName(agent, workspace string) string {
	switch {
	case agent != "" && workspace != "":
		return agent + " via " + workspace
	case agent != "":
		return agent
	case workspace != "":
		return workspace
	}
	return "Parley"
}

func intro(pending int, workspace string, mode Mode) string {
	var b strings.Builder
	if pending == 1 {
		b.WriteString("You have a new reply")
	} else {
		fmt.Fprintf(&b, "You have %d new replies", pending)
	}
	if workspace != "" {
		b.WriteString(" from ")
		b.WriteString(workspace)
	}
	b.WriteString(".")
	if mode == ModeTranscript {
		b.WriteString(" Here is the whole conversation.")
	}
	return b.String()
}

// omitted says how many public messages of the conversation the email leaves out.
func omitted(all []Message, shown int) string {
	n := -shown
	for _, m := range all {
		if m.Public() {
			n++
		}
	}
	switch {
	case n <= 0:
		return ""
	case n == 1:
		return "1 earlier message is not shown."
	}
	return strconv.Itoa(n) + " earlier messages are not shown."
}

func footer(workspace string) string {
	if workspace == "" {
		return "You receive this email because you started a chat on our website."
	}
	return "You receive this email because you started a chat with " + workspace + " on its website."
}

func newestPendingAuthor(d Decision) string {
	var name string
	var newest time.Time
	for _, m := range d.Messages {
		if slices.Contains(d.Pending, m.ID) && !m.CreatedAt.Before(newest) {
			name, newest = oneLine(m.AuthorName), m.CreatedAt
		}
	}
	return name
}

// messageTime formats a message's time as "Mon 2 Jan 15:04", with the year when it is not
// the current one.
func messageTime(t time.Time, currentYear int) string {
	if t.Year() != currentYear {
		return t.Format("Mon 2 Jan 2006 15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}

// normalizeBody makes line breaks "\n" and drops trailing blank lines and spaces.
func normalizeBody(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimRight(s, " \t\n")
}

// oneLine collapses runs of white space and control characters into single spaces, so a name
// can go into a header or a one-line label.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}), " ")
}

func parseAddress(what, s string) (*mail.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("no %s address", what)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w", what, s, err)
	}
	return &mail.Address{Address: a.Address}, nil
}

// messageID returns s as a header msg-id, "<left@right>" (RFC 5322 section 3.6.4).
func messageID(s string) (string, error) {
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

func webURL(what, s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s %q: not an absolute http(s) URL", what, s)
	}
	return u.String(), nil
}

// Bytes renders the email as an RFC 5322 message: CRLF line endings, a multipart/alternative
// body with a text/plain and a text/html part, both UTF-8 and quoted-printable, and non-ASCII
// header text as RFC 2047 encoded words. The output depends only on e, so a retry of the same
// email sends the same bytes.
func (e Email) Bytes() ([]byte, error) {
	b, err := e.bytes()
	if err != nil {
		return nil, fmt.Errorf("render email %s: %w", e.MessageID, err)
	}
	return b, nil
}

// structuralHeaders are the header fields Bytes writes itself; Email.Headers may not hold them.
var structuralHeaders = []string{
	"Date", "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Message-Id", "In-Reply-To", "References",
	"List-Unsubscribe", "List-Unsubscribe-Post", "Mime-Version", "Content-Type", "Content-Transfer-Encoding",
}

func (e Email) bytes() ([]byte, error) {
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
	for _, word := range strings.Split(value, " ") {
		if word == "" || n+1+len(word) <= foldAt {
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
	h.write(name, mime.QEncoding.Encode("utf-8", value))
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
	h.write(name, a.String())
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

// Preview composes an example email of the given mode, with sample messages, for the
// dashboard's settings preview. It returns ErrForwardingOff for ModeOff.
func Preview(mode Mode, workspaceName string, loc *time.Location, now time.Time) (Email, error) {
	switch mode {
	case ModeOff:
		return Email{}, ErrForwardingOff
	case "", ModeUnread, ModeTranscript:
	default:
		return Email{}, fmt.Errorf("preview email: unknown mode %q", string(mode))
	}
	if loc == nil {
		loc = time.UTC
	}
	if strings.TrimSpace(workspaceName) == "" {
		workspaceName = "Your company"
	}
	snap := previewSnapshot(now)
	d := Decide(now, snap, mode, Timings{}) // no delays: the sample is always due
	if d.Outcome != Send {
		return Email{}, fmt.Errorf("preview email: sample conversation not due: %s", d.Reason)
	}
	return Compose(ComposeInput{
		Decision:        d,
		Snapshot:        snap,
		Mode:            mode,
		WorkspaceName:   workspaceName,
		MailFrom:        "parley@example.com",
		ReplyTo:         "reply+preview@reply.example.com",
		UnsubscribeURL:  "https://example.com/unsubscribe/preview",
		ConversationURL: "https://example.com/",
		MessageID:       "preview@example.com",
		Location:        loc,
		Now:             now,
	})
}

// previewSnapshot is a sample conversation long enough (11 public messages) to show the
// difference between the unread and transcript modes, with an internal note that never shows.
func previewSnapshot(now time.Time) Snapshot {
	start := now.Add(-2 * time.Hour).Truncate(time.Minute)
	lines := []struct {
		author, kind, body string
		minute             int
	}{
		{AuthorVisitor, KindReply, "Hello! I ordered a pair of boots last week and have a question.", 0},
		{AuthorAgent, KindReply, "Hi Sam, happy to help. What is your order number?", 1},
		{AuthorVisitor, KindReply, "It's 10482.", 2},
		{AuthorAgent, KindComment, "Internal note: order 10482 shipped from the second warehouse.", 3},
		{AuthorAgent, KindReply, "Thanks! I can see it. What would you like to know?", 3},
		{AuthorVisitor, KindReply, "The tracking page has not changed for three days.", 4},
		{AuthorAgent, KindReply, "Let me check with the carrier.", 5},
		{AuthorVisitor, KindReply, "Thank you.", 5},
		{AuthorVisitor, KindReply, "Also, can I exchange them for a larger size if they don't fit?", 6},
		{AuthorAgent, KindReply, "Yes, exchanges are free within 30 days.", 7},
		{AuthorVisitor, KindReply, "Great. I have to go now, can you email me what the carrier says?", 8},
		{AuthorAgent, KindReply, "The carrier confirmed the parcel is at your local depot and will be delivered tomorrow morning.", 40},
	}
	snap := Snapshot{
		ConversationID:  "preview",
		Channel:         ChannelWebsite,
		VisitorEmail:    "sam@example.com",
		VisitorName:     "Sam",
		EmailStatus:     EmailStatusOK,
		LeftAt:          start.Add(9 * time.Minute),
		LastActiveAt:    start.Add(8 * time.Minute),
		ReadCursor:      start.Add(8 * time.Minute),
		AgentsAvailable: true,
	}
	for i, l := range lines {
		m := Message{
			ID:         "preview-" + strconv.Itoa(i+1),
			AuthorKind: l.author,
			Kind:       l.kind,
			Body:       l.body,
			CreatedAt:  start.Add(time.Duration(l.minute)*time.Minute + time.Duration(i)*time.Second),
		}
		if l.author == AuthorAgent {
			m.AuthorName = "Alex"
		}
		snap.Messages = append(snap.Messages, m)
	}
	return snap
}
