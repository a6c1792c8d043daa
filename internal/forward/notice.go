package forward

import (
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/parleychat/parley/internal/i18n"
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
	// Lang is the language the email is written in (one of
	// i18n.Languages), the visitor's as for their forwarded emails; empty
	// or unknown: English.
	Lang string
}

// changeView is the data of both templates of an address change notice,
// in its language; WhatHTML is What with the masked address in bold.
type changeView struct {
	Lang, Workspace, Greeting string
	What                      string
	WhatHTML                  htmltemplate.HTML
	Nothing, Undo, Button     string
	UndoURL, Days             string
}

var (
	noticeText = texttemplate.Must(texttemplate.New("notice").Parse(`{{.Greeting}}

{{.What}}

{{.Nothing}}

{{.Undo}}

{{.UndoURL}}

{{.Days}}
`))
	noticeHTML = htmltemplate.Must(htmltemplate.New("notice").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font:16px/1.5 system-ui,sans-serif;color:#1f2933">
<div style="max-width:600px;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:24px">
<p style="margin:0 0 16px;font-weight:600">{{.Workspace}}</p>
<p>{{.WhatHTML}}</p>
<p>{{.Nothing}}</p>
<p>{{.Undo}}</p>
<p><a href="{{.UndoURL}}" style="display:inline-block;background:#2f5fd0;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">{{.Button}}</a></p>
<p style="color:#66707a;font-size:14px">{{.Days}}</p>
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
	// Lang is the language the email is written in, the visitor's who
	// ticked the box as for their forwarded emails; empty or unknown:
	// English.
	Lang string
}

// ComposeOptInConfirmation writes the email that asks an address's owner
// to confirm an opt-in, in the language of the visitor who asked for it.
// It reads as the address change notice does: what happened, what to do
// if it was not them, and the link.
func ComposeOptInConfirmation(in OptInConfirmation) (message.Message, error) {
	confirm, err := webURL("confirmation URL", in.ConfirmURL)
	if err != nil {
		return message.Message{}, err
	}
	p := i18n.For(in.Lang)
	what := p.T("optin.what", in.WorkspaceName)
	data := changeView{Lang: p.Lang(), Workspace: in.WorkspaceName, Greeting: p.T("email.hi"),
		What: what, WhatHTML: emphasize(what, ""), Nothing: p.T("optin.ignore"), Undo: p.T("optin.confirm"),
		Button: p.T("optin.button"), UndoURL: confirm, Days: p.T("link.days", days(in.ValidFor))}
	return noticeMessage(in.Now, in.WorkspaceName, in.MailFrom, in.To, p.T("optin.subject", in.WorkspaceName),
		p.Lang(), in.MessageID, "opt-in confirmation", noticeText, noticeHTML, data)
}

// noticeMessage is an email that belongs to no conversation, in the
// language lang, its text and HTML written by two templates from data
// (what names it in errors).
func noticeMessage(now time.Time, workspace, from, to, subject, lang, messageID, what string,
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
		Headers: map[string]string{headerAutoSubmitted: "auto-generated", headerSuppress: "OOF, AutoReply",
			headerLanguage: lang},
		Text: text.String(),
		HTML: html.String(),
	}, nil
}

// ComposeAddressChange writes the email to a visitor's former address, in
// their language.
func ComposeAddressChange(in AddressChange) (message.Message, error) {
	undo, err := webURL("undo URL", in.UndoURL)
	if err != nil {
		return message.Message{}, err
	}
	p := i18n.For(in.Lang)
	masked := MaskAddress(in.NewAddress)
	what := p.T("change.what", in.WorkspaceName, masked)
	data := changeView{Lang: p.Lang(), Workspace: in.WorkspaceName, Greeting: p.T("email.hi"),
		What: what, WhatHTML: emphasize(what, masked), Nothing: p.T("change.nothing"), Undo: p.T("change.undo"),
		Button: p.T("undo.button"), UndoURL: undo, Days: p.T("link.days", days(in.UndoValidFor))}
	return noticeMessage(in.Now, in.WorkspaceName, in.MailFrom, in.To, p.T("change.subject", in.WorkspaceName),
		p.Lang(), in.MessageID, "address change", noticeText, noticeHTML, data)
}

// days is how long a link works, in whole days.
func days(d time.Duration) int { return int(d.Round(24*time.Hour) / (24 * time.Hour)) }

// emphasize is text as HTML with word, where the text first has it, in
// bold: each language puts it where its sentence needs it.
func emphasize(text, word string) htmltemplate.HTML {
	t, w := htmltemplate.HTMLEscapeString(text), htmltemplate.HTMLEscapeString(word)
	if w == "" {
		return htmltemplate.HTML(t)
	}
	return htmltemplate.HTML(strings.Replace(t, w, "<strong>"+w+"</strong>", 1))
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
