package chat

import (
	"fmt"

	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/model"
)

// EmailPreview is an example of the email a forwarding mode sends, shown on
// the dashboard's settings page.
type EmailPreview struct {
	Subject, From, Text, HTML string
}

// PreviewEmail composes an example email of a forwarding mode
// (model.ForwardUnread or model.ForwardTranscript) for a workspace, with
// sample messages, dated now in the workspace's time zone, in its default
// language and widget colour.
func (s *Service) PreviewEmail(ws model.Workspace, mode string) (EmailPreview, error) {
	e, err := forward.PreviewFor(forward.Mode(mode), ws.Name, ws.Location(), s.opts.Now(), forward.PreviewOptions{
		MailFrom: s.opts.MailFrom, InboundDomain: s.opts.InboundDomain, PublicURL: s.opts.PublicURL,
		Lang: ws.Settings.DefaultLocale, BrandColor: ws.Settings.Widget.Color})
	if err != nil {
		return EmailPreview{}, fmt.Errorf("preview the %q email of workspace %s: %w", mode, ws.ID, err)
	}
	return EmailPreview{Subject: e.Subject, From: e.From, Text: e.Text, HTML: e.HTML}, nil
}
