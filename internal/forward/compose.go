package forward

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/contrast"
	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/mail/message"
	"github.com/parleychat/parley/internal/model"
)

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
	// FileURL returns the absolute http(s) link to an attachment that works
	// without logging in (signed, expiring); nil: files are not listed.
	FileURL func(attachmentID string) string

	// BrandColor is the workspace's colour, #RRGGBB, for the email's header
	// bar and button; empty or malformed: DefaultBrandColor.
	BrandColor string

	MessageID string   // stable per email, so a retry reuses it
	Previous  []string // Message-IDs of the conversation's earlier emails, oldest first

	Location *time.Location // zone of the times in the body; nil: UTC
	Now      time.Time      // the email's Date

	// Lang is the language the email is written in (one of
	// i18n.Languages); empty or unknown: English.
	Lang string
	// Locale is the visitor's (BCP 47, "en-US"), for how its times are
	// written in their region (i18n.Printer.In); empty: the language's way.
	Locale string
}

// ErrForwardingOff is returned by Preview for ModeOff, which sends no email to preview.
var ErrForwardingOff = errors.New("email forwarding is off: no email is sent")

// Headers set by Compose beyond the named message.Message fields.
const (
	headerAutoSubmitted = "Auto-Submitted"
	headerConversation  = "X-Parley-Conversation"
	// Asks Exchange and Outlook not to answer with out-of-office or auto-replies. Delivery
	// reports (DR, NDR) are deliberately not suppressed: bounces must come back.
	headerSuppress = "X-Auto-Response-Suppress"
	// The language of the text (RFC 3282).
	headerLanguage = "Content-Language"
)

// DefaultBrandColor is the brand colour of a workspace that has none of
// its own.
const DefaultBrandColor = "#2f6feb"

//go:embed templates/email.txt.tmpl templates/email.html.tmpl
var templateFS embed.FS

var (
	textTemplate = texttemplate.Must(texttemplate.New("email.txt.tmpl").
			ParseFS(templateFS, "templates/email.txt.tmpl"))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("email.html.tmpl").
			Funcs(htmltemplate.FuncMap{
			"lines":   func(s string) []string { return strings.Split(s, "\n") },
			"linkify": linkify,
		}).
		ParseFS(templateFS, "templates/email.html.tmpl"))
)

// emailView is the data of both templates. Every string is plain text: html/template escapes it.
type emailView struct {
	Lang            string // the <html lang> and Content-Language
	Subject         string
	Workspace       string // the brand: the header of both parts
	Rule            string // "=" under Workspace in the text part
	Brand           string // #RRGGBB
	OnBrand         string // text colour on Brand
	BrandText       string // Brand, or a darker colour when Brand is too light for text on white
	Preheader       string // the first words of the newest reply, shown by inboxes beside the subject
	PreheaderPad    string // keeps inboxes from adding the body's first words after Preheader
	Greeting        string
	Intro           string
	Omitted         string // e.g. "9 earlier messages are not shown."; empty: none
	Messages        []messageView
	ConversationURL string
	UnsubscribeURL  string
	Footer          string
	// Words of the templates, in Lang.
	NewLabel, NewText, Continue, ContinueText, ReplyHint, Unsubscribe, UnsubscribeText string
}

type messageView struct {
	Author  string
	Time    string
	Body    string
	New     bool // a pending reply
	Visitor bool
	Links   bool // an agent reply: its web addresses become links in the HTML part
	Files   []fileView
}

// fileView is a file of a message: its name and link, and its line in the
// text part ("File: NAME URL" in the email's language).
type fileView struct{ Name, URL, Text string }

// Compose builds the email for a Send decision: the headers of spec/api.md and a body listing
// Decision.Messages, with the pending replies marked new. It decides what the email says;
// message.Message.Bytes writes it.
func Compose(in ComposeInput) (message.Message, error) {
	e, err := compose(in)
	if err != nil {
		return message.Message{}, fmt.Errorf("compose email for conversation %s: %w", in.Snapshot.ConversationID, err)
	}
	return e, nil
}

func compose(in ComposeInput) (message.Message, error) {
	d := in.Decision
	if d.Outcome != Send || len(d.Messages) == 0 {
		return message.Message{}, fmt.Errorf("decision is %s (%s), not a send", d.Outcome, d.Code)
	}
	mode := in.Mode
	switch mode {
	case "":
		mode = ModeUnread
	case ModeUnread, ModeTranscript:
	default:
		return message.Message{}, fmt.Errorf("mode %q sends no email", string(mode))
	}
	if in.Now.IsZero() {
		return message.Message{}, errors.New("no date (Now)")
	}
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	convID := oneLine(in.Snapshot.ConversationID)
	if convID == "" {
		return message.Message{}, errors.New("no conversation id")
	}

	to, err := parseAddress("visitor", in.Snapshot.VisitorEmail)
	if err != nil {
		return message.Message{}, err
	}
	from, err := parseAddress("mail from", in.MailFrom)
	if err != nil {
		return message.Message{}, err
	}
	replyTo, err := parseAddress("reply-to", in.ReplyTo)
	if err != nil {
		return message.Message{}, err
	}
	msgID, err := message.FormatID(in.MessageID)
	if err != nil {
		return message.Message{}, err
	}
	refs := make([]string, 0, len(in.Previous))
	for _, p := range in.Previous {
		id, err := message.FormatID(p)
		if err != nil {
			return message.Message{}, fmt.Errorf("previous email: %w", err)
		}
		refs = append(refs, id)
	}
	unsubscribe, err := webURL("unsubscribe URL", in.UnsubscribeURL)
	if err != nil {
		return message.Message{}, err
	}
	var conversationURL string
	if in.ConversationURL != "" {
		if conversationURL, err = webURL("conversation URL", in.ConversationURL); err != nil {
			return message.Message{}, err
		}
	}

	workspace := oneLine(in.WorkspaceName)
	visitorName := oneLine(in.Snapshot.VisitorName)
	agent := oneLine(in.AgentName)
	if agent == "" {
		agent = newestPendingAuthor(d)
	}
	p := i18n.For(in.Lang).In(in.Locale)
	from.Name = senderName(p, agent, workspace)
	to.Name = visitorName

	brand := brandColor(in.BrandColor)
	name := cmp.Or(workspace, "Support")
	view := emailView{
		Lang:            p.Lang(),
		Subject:         subject(p, workspace),
		Workspace:       name,
		Rule:            strings.Repeat("=", utf8.RuneCountInString(name)),
		Brand:           brand,
		OnBrand:         contrast.TextOn(brand),
		BrandText:       contrast.ReadableOnWhite(brand),
		Preheader:       preheader(d),
		PreheaderPad:    strings.Repeat("\u200c\u00a0", 40),
		Greeting:        p.T("email.hi"),
		Intro:           intro(p, len(d.Pending), workspace, mode),
		Omitted:         omitted(p, in.Snapshot.Messages, len(d.Messages)),
		ConversationURL: conversationURL,
		UnsubscribeURL:  unsubscribe,
		Footer:          footer(p, workspace),
		Messages:        make([]messageView, 0, len(d.Messages)),
		NewLabel:        p.T("email.new"),
		NewText:         p.T("email.new.text"),
		Continue:        p.T("email.continue"),
		ContinueText:    p.T("email.continue.text", conversationURL),
		ReplyHint:       p.T("email.reply"),
		Unsubscribe:     p.T("email.unsubscribe"),
		UnsubscribeText: p.T("email.unsubscribe.text", unsubscribe),
	}
	if visitorName != "" {
		view.Greeting = p.T("email.hi.name", visitorName)
	}
	year := in.Now.In(loc).Year()
	for _, m := range d.Messages {
		mv := messageView{
			Time: p.Time(m.CreatedAt.In(loc), year),
			Body: normalizeBody(m.Body),
			New:  slices.Contains(d.Pending, m.ID),
		}
		if in.FileURL != nil {
			for _, f := range m.Files {
				u, err := webURL("file URL", in.FileURL(f.ID))
				if err != nil {
					return message.Message{}, err
				}
				name := oneLine(f.Name)
				mv.Files = append(mv.Files, fileView{Name: name, URL: u, Text: p.T("email.file.text", name, u)})
			}
		}
		switch m.AuthorKind {
		case model.AuthorVisitor:
			mv.Visitor = true
			mv.Author = cmp.Or(visitorName, p.T("email.you"))
		default:
			mv.Author = cmp.Or(oneLine(m.AuthorName), workspace, "Support")
			mv.Links = m.AuthorKind == model.AuthorAgent
		}
		view.Messages = append(view.Messages, mv)
	}

	var text, html strings.Builder
	if err := textTemplate.Execute(&text, view); err != nil {
		return message.Message{}, fmt.Errorf("render text part: %w", err)
	}
	if err := htmlTemplate.Execute(&html, view); err != nil {
		return message.Message{}, fmt.Errorf("render html part: %w", err)
	}

	e := message.Message{
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
			headerLanguage:      p.Lang(),
		},
		Text: text.String(),
		HTML: html.String(),
	}
	if len(refs) > 0 {
		e.InReplyTo = refs[len(refs)-1]
	}
	return e, nil
}

// subject is the same for every email of a conversation in one language,
// so mail clients thread them.
func subject(p i18n.Printer, workspace string) string {
	if workspace == "" {
		return p.T("email.subject.anon")
	}
	return p.T("email.subject", workspace)
}

// preheader is the start of the newest pending reply, cut at a word, for
// the inbox preview.
func preheader(d Decision) string {
	var body string
	var newest time.Time
	for _, m := range d.Messages {
		if slices.Contains(d.Pending, m.ID) && !m.CreatedAt.Before(newest) {
			body, newest = m.Body, m.CreatedAt
		}
	}
	text := oneLine(body)
	const max = 100
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	cut := string([]rune(text)[:max])
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// brandColor returns c when it is #RRGGBB, else DefaultBrandColor.
func brandColor(c string) string {
	c = strings.TrimSpace(c)
	if _, ok := contrast.RGB(c); ok {
		return strings.ToLower(c)
	}
	return DefaultBrandColor
}

func senderName(p i18n.Printer, agent, workspace string) string {
	switch {
	case agent != "" && workspace != "":
		return p.T("email.via", agent, workspace)
	case agent != "":
		return agent
	case workspace != "":
		return workspace
	}
	return "Parley"
}

func intro(p i18n.Printer, pending int, workspace string, mode Mode) string {
	var s string
	if workspace != "" {
		s = p.T("email.intro.from", pending, workspace)
	} else {
		s = p.T("email.intro", pending)
	}
	if mode == ModeTranscript {
		s += " " + p.T("email.transcript")
	}
	return s
}

// omitted says how many public messages of the conversation the email leaves out.
func omitted(p i18n.Printer, all []Message, shown int) string {
	n := -shown
	for _, m := range all {
		if m.Public() {
			n++
		}
	}
	if n <= 0 {
		return ""
	}
	return p.T("email.omitted", n)
}

func footer(p i18n.Printer, workspace string) string {
	if workspace == "" {
		return p.T("email.footer")
	}
	return p.T("email.footer.from", workspace)
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

// Preview composes an example email of the given mode, with sample messages, for the
// dashboard's settings preview. It returns ErrForwardingOff for ModeOff.
func Preview(mode Mode, workspaceName string, loc *time.Location, now time.Time) (message.Message, error) {
	return PreviewFor(mode, workspaceName, loc, now, PreviewOptions{})
}

// PreviewOptions are the server's own addresses and the workspace's
// language and colour a preview shows, so that it reads as the visitor
// will see it; empty fields take example values (English, Parley's blue).
type PreviewOptions struct {
	MailFrom      string // PARLEY_MAIL_FROM
	InboundDomain string // PARLEY_INBOUND_DOMAIN
	PublicURL     string // PARLEY_PUBLIC_URL
	Lang          string // the workspace's default_locale
	BrandColor    string // the widget's colour
}

// PreviewFor is Preview with the server's sender, reply domain and public
// URL.
func PreviewFor(mode Mode, workspaceName string, loc *time.Location, now time.Time, addrs PreviewOptions) (message.Message, error) {
	if addrs.MailFrom == "" {
		addrs.MailFrom = "parley@example.com"
	}
	if addrs.InboundDomain == "" {
		addrs.InboundDomain = "reply.example.com"
	}
	if addrs.PublicURL == "" {
		addrs.PublicURL = "https://example.com"
	}
	base := strings.TrimRight(addrs.PublicURL, "/")
	switch mode {
	case ModeOff:
		return message.Message{}, ErrForwardingOff
	case "", ModeUnread, ModeTranscript:
	default:
		return message.Message{}, fmt.Errorf("preview email: unknown mode %q", string(mode))
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
		return message.Message{}, fmt.Errorf("preview email: sample conversation not due: %s", d.Reason)
	}
	return Compose(ComposeInput{
		Decision:        d,
		Snapshot:        snap,
		Mode:            mode,
		WorkspaceName:   workspaceName,
		MailFrom:        addrs.MailFrom,
		ReplyTo:         "reply+preview@" + addrs.InboundDomain,
		UnsubscribeURL:  base + "/unsubscribe/preview",
		ConversationURL: base + "/chat/preview",
		MessageID:       "preview@" + addrs.InboundDomain,
		Location:        loc,
		Now:             now,
		Lang:            addrs.Lang,
		BrandColor:      addrs.BrandColor,
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
		{model.AuthorVisitor, model.KindReply, "Hello! I ordered a pair of boots last week and have a question.", 0},
		{model.AuthorAgent, model.KindReply, "Hi Sam, happy to help. What is your order number?", 1},
		{model.AuthorVisitor, model.KindReply, "It's 10482.", 2},
		{model.AuthorAgent, model.KindComment, "Internal note: order 10482 shipped from the second warehouse.", 3},
		{model.AuthorAgent, model.KindReply, "Thanks! I can see it. What would you like to know?", 3},
		{model.AuthorVisitor, model.KindReply, "The tracking page has not changed for three days.", 4},
		{model.AuthorAgent, model.KindReply, "Let me check with the carrier.", 5},
		{model.AuthorVisitor, model.KindReply, "Thank you.", 5},
		{model.AuthorVisitor, model.KindReply, "Also, can I exchange them for a larger size if they don't fit?", 6},
		{model.AuthorAgent, model.KindReply, "Yes, exchanges are free within 30 days.", 7},
		{model.AuthorVisitor, model.KindReply, "Great. I have to go now, can you email me what the carrier says?", 8},
		{model.AuthorAgent, model.KindReply, "The carrier confirmed the parcel is at your local depot and will be delivered tomorrow morning.", 40},
	}
	snap := Snapshot{
		ConversationID:  "preview",
		Channel:         model.ChannelWebsite,
		VisitorEmail:    "sam@example.com",
		VisitorName:     "Sam",
		EmailStatus:     model.EmailOK,
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
		if l.author == model.AuthorAgent {
			m.AuthorName = "Alex"
		}
		snap.Messages = append(snap.Messages, m)
	}
	return snap
}
