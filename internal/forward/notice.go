package forward

import (
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/parleychat/parley/internal/mail/message"
)

// AddressChange is what the email to a visitor's former address says: that
// the address of their conversation with the workspace was changed (to
// NewAddress, masked), and how to undo it.
type AddressChange struct {
	WorkspaceName string
	MailFrom      string // PARLEY_MAIL_FROM
	To            string // the former address
	NewAddress    string // shown masked only
	UndoURL       string // absolute http(s) URL, signed and expiring
	UndoValidFor  time.Duration
	MessageID     string
	Now           time.Time
}

var (
	noticeText = texttemplate.Must(texttemplate.New("notice").Parse(`Hello,

The email address of your conversation with {{.Workspace}} was changed from this address to {{.Masked}}, from the chat window on their website. Replies you miss in the chat now go there.

If you did this, there is nothing to do.

If you did not, put your address back (this also signs out the chat windows that made the change):

{{.UndoURL}}

The link works for {{.Days}} days.
`))
	noticeHTML = htmltemplate.Must(htmltemplate.New("notice").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font:16px/1.5 system-ui,sans-serif;color:#1f2933">
<div style="max-width:600px;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:24px">
<p style="margin:0 0 16px;font-weight:600">{{.Workspace}}</p>
<p>The email address of your conversation with {{.Workspace}} was changed from this address to <strong>{{.Masked}}</strong>, from the chat window on their website. Replies you miss in the chat now go there.</p>
<p>If you did this, there is nothing to do.</p>
<p>If you did not, put your address back (this also signs out the chat windows that made the change):</p>
<p><a href="{{.UndoURL}}" style="display:inline-block;background:#2f5fd0;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Put my address back</a></p>
<p style="color:#66707a;font-size:14px">The link works for {{.Days}} days.</p>
</div></body></html>
`))
)

// OptInConfirmation is what the email to an address that was unsubscribed
// or bouncing says when someone ticked the chat's opt-in box for it: the
// link that makes it receive emails again, which only its owner can open.
type OptInConfirmation struct {
	WorkspaceName string
	MailFrom      string // PARLEY_MAIL_FROM
	To            string
	ConfirmURL    string // absolute http(s) URL, signed and expiring
	ValidFor      time.Duration
	MessageID     string
	Now           time.Time
}

var (
	optInText = texttemplate.Must(texttemplate.New("optin").Parse(`Hello,

Someone asked, in the chat window on {{.Workspace}}'s website, to receive at this address the replies they miss in the chat. This address had stopped receiving them.

If it was you, confirm here:

{{.ConfirmURL}}

If it was not, ignore this email: nothing changes, and you receive nothing more.

The link works for {{.Days}} days.
`))
	optInHTML = htmltemplate.Must(htmltemplate.New("optin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font:16px/1.5 system-ui,sans-serif;color:#1f2933">
<div style="max-width:600px;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:24px">
<p style="margin:0 0 16px;font-weight:600">{{.Workspace}}</p>
<p>Someone asked, in the chat window on {{.Workspace}}'s website, to receive at this address the replies they miss in the chat. This address had stopped receiving them.</p>
<p>If it was you, confirm here:</p>
<p><a href="{{.ConfirmURL}}" style="display:inline-block;background:#2f5fd0;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Receive the replies again</a></p>
<p>If it was not, ignore this email: nothing changes, and you receive nothing more.</p>
<p style="color:#66707a;font-size:14px">The link works for {{.Days}} days.</p>
</div></body></html>
`))
)

// ComposeOptInConfirmation writes the email that asks an address's owner
// to confirm an opt-in.
func ComposeOptInConfirmation(in OptInConfirmation) (message.Message, error) {
	confirm, err := webURL("confirmation URL", in.ConfirmURL)
	if err != nil {
		return message.Message{}, err
	}
	data := map[string]any{"Workspace": in.WorkspaceName, "ConfirmURL": confirm,
		"Days": int(in.ValidFor.Round(24*time.Hour) / (24 * time.Hour))}
	return noticeMessage(in.Now, in.WorkspaceName, in.MailFrom, in.To, "Confirm: receive replies from "+in.WorkspaceName+" again",
		in.MessageID, "opt-in confirmation", optInText, optInHTML, data)
}

// noticeMessage is an email that belongs to no conversation, its text and
// HTML written by two templates from data (what names it in errors).
func noticeMessage(now time.Time, workspace, from, to, subject, messageID, what string,
	textT *texttemplate.Template, htmlT *htmltemplate.Template, data any) (message.Message, error) {
	var text, html strings.Builder
	if err := textT.Execute(&text, data); err != nil {
		return message.Message{}, fmt.Errorf("%s text: %w", what, err)
	}
	if err := htmlT.Execute(&html, data); err != nil {
		return message.Message{}, fmt.Errorf("%s HTML: %w", what, err)
	}
	return message.Message{
		Date:      now,
		From:      (&mail.Address{Name: workspace, Address: from}).String(),
		To:        to,
		Subject:   subject,
		MessageID: messageID,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "OOF, AutoReply"},
		Text:      text.String(),
		HTML:      html.String(),
	}, nil
}

// ComposeAddressChange writes the email to a visitor's former address.
func ComposeAddressChange(in AddressChange) (message.Message, error) {
	undo, err := webURL("undo URL", in.UndoURL)
	if err != nil {
		return message.Message{}, err
	}
	data := map[string]any{"Workspace": in.WorkspaceName, "Masked": MaskAddress(in.NewAddress), "UndoURL": undo,
		"Days": int(in.UndoValidFor.Round(24*time.Hour) / (24 * time.Hour))}
	return noticeMessage(in.Now, in.WorkspaceName, in.MailFrom, in.To, "The email address of your conversation with "+in.WorkspaceName+" was changed",
		in.MessageID, "address change", noticeText, noticeHTML, data)
}

// MaskAddress shows enough of an address for its owner to recognise it and
// little for anyone else: the first character of the local part and of the
// domain, and the top-level domain ("j***@e***.org").
func MaskAddress(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	first := func(s string) string {
		for _, r := range s {
			return string(r)
		}
		return ""
	}
	masked := first(local) + "***@"
	if dot := strings.LastIndexByte(domain, '.'); dot > 0 {
		return masked + first(domain) + "***" + domain[dot:]
	}
	return masked + first(domain) + "***"
}
