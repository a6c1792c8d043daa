package app

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/mail"
	"time"

	"github.com/parleychat/parley/internal/mail/message"
	"github.com/parleychat/parley/internal/mail/relay"
	"github.com/parleychat/parley/internal/model"
)

// inviteMailer emails invitation links through the relay. An invitation is
// no conversation, so it does not go through the outbox: it is sent once,
// and the admin who made it sees the link either way.
type inviteMailer struct {
	relay *relay.Relay
	from  string
	log   *slog.Logger
}

// SendInvite emails an invitation link.
func (m inviteMailer) SendInvite(ctx context.Context, to, name, workspace, link string) error {
	msg := message.Message{
		Date:      time.Now(),
		From:      (&mail.Address{Name: workspace + " on Parley", Address: m.from}).String(),
		To:        (&mail.Address{Name: name, Address: to}).String(),
		Subject:   "You are invited to answer visitors of " + workspace,
		MessageID: message.NewID("invite-"+model.NewID(), m.from),
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
		Text: fmt.Sprintf("Hello %s,\n\nYou are invited to answer the visitors of %s with Parley.\n\n"+
			"Choose your password here (the link works once, within 7 days):\n\n%s\n\n"+
			"If you did not expect this invitation, ignore this email.\n", name, workspace, link),
		HTML: fmt.Sprintf(`<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1f2933">`+
			`<p>Hello %s,</p><p>You are invited to answer the visitors of <strong>%s</strong> with Parley.</p>`+
			`<p><a href="%s" style="display:inline-block;background:#2f5fd0;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Choose your password</a></p>`+
			`<p style="color:#66707a">The link works once, within 7 days. If you did not expect this invitation, ignore this email.</p></body></html>`,
			html.EscapeString(name), html.EscapeString(workspace), html.EscapeString(link)),
	}
	raw, err := msg.Bytes()
	if err != nil {
		return fmt.Errorf("compose invitation to %s: %w", to, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.relay.Send(ctx, m.from, []string{to}, raw); err != nil {
		return fmt.Errorf("send invitation to %s: %w", to, err)
	}
	m.log.Info("invitation emailed", "to_domain", domainOf(to))
	return nil
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return ""
}
