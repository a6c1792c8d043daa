package forward

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/mail/message"
	"github.com/parleychat/parley/internal/model"
)

// composeInput decides snap at 10:50:00 and returns the input for its email, the third of the
// conversation.
func composeInput(t testing.TB, snap Snapshot, mode Mode) ComposeInput {
	t.Helper()
	now := at(50, 0)
	d := Decide(now, snap, mode, DefaultTimings)
	if d.Outcome != Send {
		t.Fatalf("Decide = %s (%q), want send", d.Outcome, d.Reason)
	}
	return ComposeInput{
		Decision:        d,
		Snapshot:        snap,
		Mode:            mode,
		WorkspaceName:   "Acme",
		AgentName:       "Alex",
		MailFrom:        "parley@mail.example.com",
		ReplyTo:         "reply+tok123@reply.example.com",
		UnsubscribeURL:  "https://chat.example.com/unsubscribe/tok?x=1&y=2",
		ConversationURL: "https://shop.example.com/help?parley=c1",
		MessageID:       "<c1.3@mail.example.com>",
		Previous:        []string{"<c1.1@mail.example.com>", "c1.2@mail.example.com"},
		Location:        time.UTC,
		Now:             now,
	}
}

func mustCompose(t testing.TB, in ComposeInput) message.Message {
	t.Helper()
	e, err := Compose(in)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	return e
}

// parsedEmail is the output of message.Message.Bytes read back with net/mail and mime/multipart.
type parsedEmail struct {
	raw        []byte
	header     mail.Header
	headerText string // the raw header section
	text, html string // the decoded parts, with CRLF turned back into LF
	partTypes  []string
}

func parseEmail(t *testing.T, e message.Message) parsedEmail {
	t.Helper()
	raw, err := e.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	p := parsedEmail{raw: raw}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i < 0 {
		t.Fatal("no end of header")
	} else {
		p.headerText = string(raw[:i+2])
	}
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("bare LF at byte %d", i)
		}
		if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			t.Fatalf("bare CR at byte %d", i)
		}
		if c >= 0x80 {
			t.Fatalf("8-bit byte %#x at %d", c, i)
		}
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d characters", len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v", err)
	}
	p.header = msg.Header
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %s, %v", msg.Header.Get("Content-Type"), mediaType, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		if cte := part.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part Content-Transfer-Encoding %q", cte)
		}
		partType, partParams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil || !strings.EqualFold(partParams["charset"], "utf-8") {
			t.Errorf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		encoded, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		for _, line := range strings.Split(string(encoded), "\r\n") {
			if len(line) > 76 {
				t.Errorf("quoted-printable line of %d characters: %q", len(line), line)
			}
		}
		decoded, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(encoded)))
		if err != nil {
			t.Fatalf("decode %s part: %v", partType, err)
		}
		body := strings.ReplaceAll(string(decoded), "\r\n", "\n")
		p.partTypes = append(p.partTypes, partType)
		switch partType {
		case "text/plain":
			p.text = body
		case "text/html":
			p.html = body
		}
	}
	return p
}

func TestComposeHeaders(t *testing.T) {
	in := composeInput(t, longChat(), ModeUnread)
	e := mustCompose(t, in)
	p := parseEmail(t, e)

	if !strings.Contains(p.headerText, "From: \"Alex via Acme\" <parley@mail.example.com>\r\n") {
		t.Errorf("From line not as api.md fixes it:\n%s", p.headerText)
	}
	for _, a := range []struct{ field, name, address string }{
		{"From", "Alex via Acme", "parley@mail.example.com"},
		{"To", "Sam", "sam@example.com"},
		{"Reply-To", "", "reply+tok123@reply.example.com"},
	} {
		got, err := mail.ParseAddress(p.header.Get(a.field))
		if err != nil {
			t.Errorf("%s %q: %v", a.field, p.header.Get(a.field), err)
			continue
		}
		if got.Name != a.name || got.Address != a.address {
			t.Errorf("%s = %q <%s>, want %q <%s>", a.field, got.Name, got.Address, a.name, a.address)
		}
	}
	for field, want := range map[string]string{
		"Subject":                  "Your conversation with Acme",
		"Message-Id":               "<c1.3@mail.example.com>",
		"In-Reply-To":              "<c1.2@mail.example.com>",
		"References":               "<c1.1@mail.example.com> <c1.2@mail.example.com>",
		"List-Unsubscribe":         "<https://chat.example.com/unsubscribe/tok?x=1&y=2>",
		"List-Unsubscribe-Post":    "List-Unsubscribe=One-Click",
		"Auto-Submitted":           "auto-generated",
		"X-Parley-Conversation":    "c1",
		"X-Auto-Response-Suppress": "OOF, AutoReply",
		"Mime-Version":             "1.0",
	} {
		if got := p.header.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if date, err := p.header.Date(); err != nil || !date.Equal(in.Now) {
		t.Errorf("Date = %v (%v), want %v", date, err, in.Now)
	}
	if got := strings.Join(p.partTypes, ","); got != "text/plain,text/html" {
		t.Errorf("parts = %s, want text/plain,text/html", got)
	}
	if p.text != e.Text || p.html != e.HTML {
		t.Error("decoded parts differ from Email.Text and Email.HTML")
	}
	for _, want := range []string{
		"Continue the conversation: https://shop.example.com/help?parley=c1\n",
		"Reply to this email to continue the conversation.\n",
		"Unsubscribe: https://chat.example.com/unsubscribe/tok?x=1&y=2\n",
	} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text part lacks %q:\n%s", want, p.text)
		}
	}
	for _, want := range []string{
		`<a href="https://shop.example.com/help?parley=c1"`,
		"Reply to this email to continue the conversation.",
		`<a href="https://chat.example.com/unsubscribe/tok?x=1&amp;y=2"`,
	} {
		if !strings.Contains(p.html, want) {
			t.Errorf("html part lacks %q", want)
		}
	}
}

func TestComposeThreading(t *testing.T) {
	first := composeInput(t, snapshot(chat()...), ModeUnread)
	first.Previous = nil
	p1 := parseEmail(t, mustCompose(t, first))
	for _, field := range []string{"In-Reply-To", "References"} {
		if _, ok := p1.header[field]; ok {
			t.Errorf("first email has %s %q", field, p1.header.Get(field))
		}
	}

	// A later email, other content, another agent, transcript mode: same subject.
	later := composeInput(t, longChat(), ModeTranscript)
	later.AgentName = "Blair"
	later.MessageID = "c1.2@mail.example.com"
	later.Previous = []string{"c1.1@mail.example.com"}
	p2 := parseEmail(t, mustCompose(t, later))
	if p1.header.Get("Subject") != p2.header.Get("Subject") {
		t.Errorf("subjects differ: %q, %q", p1.header.Get("Subject"), p2.header.Get("Subject"))
	}
	if got := p2.header.Get("In-Reply-To"); got != "<c1.1@mail.example.com>" {
		t.Errorf("In-Reply-To = %q", got)
	}

	// Many earlier emails: References is folded and still reads back whole.
	many := composeInput(t, longChat(), ModeUnread)
	many.Previous = nil
	for i := range 40 {
		many.Previous = append(many.Previous, fmt.Sprintf("<conversation-c1.email-%d@mail.example.com>", i))
	}
	p3 := parseEmail(t, mustCompose(t, many))
	if got := strings.Fields(p3.header.Get("References")); strings.Join(got, " ") != strings.Join(many.Previous, " ") {
		t.Errorf("References read back as %d ids, want %d", len(got), len(many.Previous))
	}
	if got := p3.header.Get("In-Reply-To"); got != many.Previous[39] {
		t.Errorf("In-Reply-To = %q, want the last previous", got)
	}
	for _, line := range strings.Split(p3.headerText, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
}

func TestComposeEscapesUserText(t *testing.T) {
	const script = `<script>alert("x")</script>`
	snap := snapshot(
		Message{ID: "v1", AuthorKind: model.AuthorVisitor, Kind: model.KindReply, Body: "hi " + script + "\nsecond line & more", CreatedAt: at(34, 0)},
		Message{ID: "r1", AuthorKind: model.AuthorAgent, AuthorName: "Eve " + script, Kind: model.KindReply, Body: `<img src=x onerror="alert(1)">`, CreatedAt: at(36, 0)},
	)
	snap.VisitorName = "Mallory " + script
	in := composeInput(t, snap, ModeUnread)
	in.AgentName = ""
	in.WorkspaceName = "Acme " + script
	p := parseEmail(t, mustCompose(t, in))

	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(p.html, bad) {
			t.Errorf("html part holds unescaped %q", bad)
		}
	}
	for _, want := range []string{
		"Mallory &lt;script&gt;",               // visitor name, greeting and author
		"Eve &lt;script&gt;alert(&#34;x&#34;)", // agent name
		"hi &lt;script&gt;",                    // visitor body
		"<br>second line &amp; more",           // line breaks kept, text escaped
		"&lt;img src=x onerror=&#34;alert(1)&#34;&gt;",
		"Acme &lt;script&gt;", // workspace name
	} {
		if !strings.Contains(p.html, want) {
			t.Errorf("html part lacks %q", want)
		}
	}
	// The text part is plain text: it holds the text as written.
	if !strings.Contains(p.text, "hi "+script+"\nsecond line & more\n") {
		t.Errorf("text part altered the body:\n%s", p.text)
	}
	from, err := mail.ParseAddress(p.header.Get("From"))
	if err != nil || from.Name != "Eve "+script+" via Acme "+script {
		t.Errorf("From = %q (%v)", p.header.Get("From"), err)
	}
}

func TestComposeHeaderInjection(t *testing.T) {
	in := composeInput(t, snapshot(chat()...), ModeUnread)
	in.AgentName = "Eve\r\nBcc: victim@example.com"
	in.WorkspaceName = "Acme\nX-Evil: 1"
	in.Snapshot.VisitorName = "Sam\r\n\r\n<html>"
	p := parseEmail(t, mustCompose(t, in))
	for _, field := range []string{"Bcc", "X-Evil"} {
		if _, ok := p.header[field]; ok {
			t.Errorf("injected header %s present", field)
		}
	}
	from, _ := mail.ParseAddress(p.header.Get("From"))
	if from == nil || from.Name != "Eve Bcc: victim@example.com via Acme X-Evil: 1" {
		t.Errorf("From = %q", p.header.Get("From"))
	}
}

func TestComposeNonASCII(t *testing.T) {
	snap := snapshot(
		Message{ID: "v1", AuthorKind: model.AuthorVisitor, Kind: model.KindReply, Body: "Grüße aus Köln 👋", CreatedAt: at(34, 0)},
		Message{ID: "r1", AuthorKind: model.AuthorAgent, AuthorName: "Zoë", Kind: model.KindReply, Body: "Merci, à bientôt — 日本語もOK", CreatedAt: at(36, 0)},
	)
	snap.VisitorName = "José Núñez"
	in := composeInput(t, snap, ModeUnread)
	in.AgentName = "Zoë"
	in.WorkspaceName = "Café Ünïcode, Straße & Söhne — a rather long workspace name for folding"
	p := parseEmail(t, mustCompose(t, in)) // also checks that the raw message is 7-bit

	if !strings.Contains(p.headerText, "=?utf-8?") {
		t.Errorf("no encoded words in the header:\n%s", p.headerText)
	}
	for _, line := range strings.Split(p.headerText, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	from, err := mail.ParseAddress(p.header.Get("From"))
	if err != nil || from.Name != "Zoë via "+in.WorkspaceName {
		t.Errorf("From decodes to %q (%v)", from, err)
	}
	to, err := mail.ParseAddress(p.header.Get("To"))
	if err != nil || to.Name != "José Núñez" {
		t.Errorf("To decodes to %q (%v)", to, err)
	}
	var dec mime.WordDecoder
	if subject, err := dec.DecodeHeader(p.header.Get("Subject")); err != nil || subject != "Your conversation with "+in.WorkspaceName {
		t.Errorf("Subject decodes to %q (%v)", subject, err)
	}
	for _, want := range []string{"José Núñez · Mon 2 Mar 10:34 UTC\nGrüße aus Köln 👋\n", "[new] Zoë · Mon 2 Mar 10:36 UTC\nMerci, à bientôt — 日本語もOK\n"} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text part lacks %q:\n%s", want, p.text)
		}
	}
	if !strings.Contains(p.html, "日本語もOK") || !strings.Contains(p.html, "Grüße aus Köln 👋") {
		t.Error("html part lost non-ASCII text")
	}
}

func TestComposeContent(t *testing.T) {
	countNew := func(p parsedEmail) (text, html int) {
		return strings.Count(p.text, "[new] "), strings.Count(p.html, ">New</span>")
	}
	t.Run("unread, 15 messages: 3 context and 2 new replies", func(t *testing.T) {
		p := parseEmail(t, mustCompose(t, composeInput(t, longChat(), ModeUnread)))
		for _, want := range []string{
			"Hi Sam,\n",
			"You have 2 new replies from Acme.\n10 earlier messages are not shown.\n",
			"Sam · Mon 2 Mar 10:11 UTC\nvisitor p11\n",
			"Alex · Mon 2 Mar 10:12 UTC\nagent p12\n",
			"Sam · Mon 2 Mar 10:13 UTC\nvisitor p13\n",
			"[new] Alex · Mon 2 Mar 10:14 UTC\nagent r14\n",
			"[new] Alex · Mon 2 Mar 10:15 UTC\nagent r15\n",
		} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, p.text)
			}
		}
		for _, absent := range []string{"visitor p1\n", "agent p10", "note note", "event assigned", "Here is the whole conversation"} {
			if strings.Contains(p.text, absent) || strings.Contains(p.html, absent) {
				t.Errorf("email holds %q", absent)
			}
		}
		if tn, hn := countNew(p); tn != 2 || hn != 2 {
			t.Errorf("new marks: text %d, html %d, want 2", tn, hn)
		}
		if !strings.Contains(p.html, "10 earlier messages are not shown.") {
			t.Error("html part does not say messages are left out")
		}
		if !strings.Contains(p.html, `>New</span> · <strong class="fg-main" style="color:#1f2328;">Alex</strong> · Mon 2 Mar 10:15 UTC</p>`) {
			t.Errorf("html part does not badge the newest reply:\n%s", p.html)
		}
	})
	t.Run("transcript, 15 messages: all of them", func(t *testing.T) {
		p := parseEmail(t, mustCompose(t, composeInput(t, longChat(), ModeTranscript)))
		if strings.Count(p.text, " · Mon 2 Mar ") != 15 {
			t.Errorf("text part holds %d messages, want 15:\n%s", strings.Count(p.text, " · Mon 2 Mar "), p.text)
		}
		for _, want := range []string{"Sam · Mon 2 Mar 10:01 UTC\nvisitor p1\n", "You have 2 new replies from Acme. Here is the whole conversation.\n"} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks %q", want)
			}
		}
		if strings.Contains(p.text, "not shown") || strings.Contains(p.text, "note note") {
			t.Error("transcript leaves messages out or shows a comment")
		}
		if tn, hn := countNew(p); tn != 2 || hn != 2 {
			t.Errorf("new marks: text %d, html %d, want 2", tn, hn)
		}
	})
	t.Run("authors, names and times", func(t *testing.T) {
		snap := snapshot(
			visitorMsg("v1", t0.AddDate(-1, 0, 0)),
			Message{ID: "r1", AuthorKind: model.AuthorAgent, Kind: model.KindReply, Body: "nameless", CreatedAt: at(36, 0)},
			Message{ID: "r2", AuthorKind: model.AuthorAgent, AuthorName: "Blair", Kind: model.KindReply, Body: "named", CreatedAt: at(36, 5)},
		)
		snap.VisitorName = ""
		in := composeInput(t, snap, ModeUnread)
		in.AgentName = "" // taken from the newest pending reply
		in.Location = time.FixedZone("EET", 2*3600)
		p := parseEmail(t, mustCompose(t, in))
		for _, want := range []string{
			"Hi,\n",
			"You have 2 new replies from Acme.",
			"You · Sun 2 Mar 2025 12:00 EET\nvisitor v1\n", // another year shows the year
			"[new] Acme · Mon 2 Mar 12:36 EET\nnameless\n", // an agent without a name: the workspace
			"[new] Blair · Mon 2 Mar 12:36 EET\nnamed\n",
		} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, p.text)
			}
		}
		if from, _ := mail.ParseAddress(p.header.Get("From")); from == nil || from.Name != "Blair via Acme" {
			t.Errorf("From = %q, want Blair via Acme", p.header.Get("From"))
		}
	})
	t.Run("one reply, no conversation link", func(t *testing.T) {
		in := composeInput(t, snapshot(chat()...), ModeUnread)
		in.ConversationURL = ""
		in.WorkspaceName = ""
		p := parseEmail(t, mustCompose(t, in))
		if strings.Contains(p.text, "Continue the conversation") || strings.Contains(p.html, "Continue the conversation") {
			t.Error("a conversation link without a URL")
		}
		for _, want := range []string{"You have a new reply.\n", "Reply to this email to continue the conversation.\n"} {
			if !strings.Contains(p.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, p.text)
			}
		}
		if got := p.header.Get("Subject"); got != "Your conversation" {
			t.Errorf("Subject = %q", got)
		}
		if from, _ := mail.ParseAddress(p.header.Get("From")); from == nil || from.Name != "Alex" {
			t.Errorf("From = %q", p.header.Get("From"))
		}
	})
}

func TestComposeErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ComposeInput)
		want   string
	}{
		{"wait decision", func(in *ComposeInput) { in.Decision.Outcome = Wait }, "not a send"},
		{"no messages", func(in *ComposeInput) { in.Decision.Messages = nil }, "not a send"},
		{"mode off", func(in *ComposeInput) { in.Mode = ModeOff }, "sends no email"},
		{"no date", func(in *ComposeInput) { in.Now = time.Time{} }, "no date"},
		{"no conversation id", func(in *ComposeInput) { in.Snapshot.ConversationID = "" }, "no conversation id"},
		{"no visitor address", func(in *ComposeInput) { in.Snapshot.VisitorEmail = "" }, "no visitor address"},
		{"malformed visitor address", func(in *ComposeInput) { in.Snapshot.VisitorEmail = "sam@" }, "visitor address"},
		{"malformed mail from", func(in *ComposeInput) { in.MailFrom = "parley" }, "mail from address"},
		{"no reply-to", func(in *ComposeInput) { in.ReplyTo = "" }, "no reply-to address"},
		{"no message id", func(in *ComposeInput) { in.MessageID = "" }, "malformed Message-ID"},
		{"message id with a space", func(in *ComposeInput) { in.MessageID = "<a b@c>" }, "malformed Message-ID"},
		{"message id with a line break", func(in *ComposeInput) { in.MessageID = "<a@c>\r\nBcc: x@y" }, "malformed Message-ID"},
		{"malformed previous", func(in *ComposeInput) { in.Previous = []string{"nope"} }, "previous email"},
		{"no unsubscribe URL", func(in *ComposeInput) { in.UnsubscribeURL = "" }, "unsubscribe URL"},
		{"javascript unsubscribe URL", func(in *ComposeInput) { in.UnsubscribeURL = "javascript:alert(1)" }, "unsubscribe URL"},
		{"relative conversation URL", func(in *ComposeInput) { in.ConversationURL = "/c/1" }, "conversation URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := composeInput(t, snapshot(chat()...), ModeUnread)
			tt.change(&in)
			_, err := Compose(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compose error = %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	if _, err := Preview(ModeOff, "Acme", nil, now); !errors.Is(err, ErrForwardingOff) {
		t.Errorf("Preview(off) error = %v, want ErrForwardingOff", err)
	}
	if _, err := Preview("weekly", "Acme", nil, now); err == nil {
		t.Error("Preview of an unknown mode succeeded")
	}
	unread, err := Preview(ModeUnread, "Acme", time.FixedZone("CET", 3600), now)
	if err != nil {
		t.Fatal(err)
	}
	transcript, err := Preview(ModeTranscript, "", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	pu, pt := parseEmail(t, unread), parseEmail(t, transcript)
	if got := pu.header.Get("Subject"); got != "Your conversation with Acme" {
		t.Errorf("unread preview Subject = %q", got)
	}
	if got := pt.header.Get("Subject"); got != "Your conversation with Your company" {
		t.Errorf("transcript preview Subject = %q", got)
	}
	const first = "I ordered a pair of boots"
	if strings.Contains(pu.text, first) || !strings.Contains(pt.text, first) {
		t.Error("the previews do not show the difference between the modes")
	}
	for _, p := range []parsedEmail{pu, pt} {
		if strings.Count(p.text, "[new] ") != 1 || strings.Contains(p.text, "Internal note") {
			t.Errorf("preview text:\n%s", p.text)
		}
	}
	if !strings.Contains(pu.text, "Alex · Mon 2 Mar 14:40") {
		t.Errorf("unread preview not in its zone:\n%s", pu.text)
	}
}
