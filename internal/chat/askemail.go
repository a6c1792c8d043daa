package chat

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/model"
)

// AskEmailText returns the request for an email in the language of a BCP 47
// tag ("fr", "fr-CA", "PT_br"), or in English when the language is not one
// Parley speaks. It is a plain reply: other clients and forwarded emails
// show it as text, the widget adds an email field under it. It says that
// replies will go to the address: for a workspace that forwards them.
func AskEmailText(locale string) string { return askEmailText(locale, true) }

// askEmailText is AskEmailText, or without its promise when forwarding
// is off: the agent may still want the address, but no reply will go
// there by itself.
func askEmailText(locale string, forwarding bool) string {
	key := "chat.ask_email"
	if !forwarding {
		key = "chat.ask_email_plain"
	}
	return i18n.For(i18n.Resolve(strings.ReplaceAll(locale, "_", "-"), "", i18n.Default)).T(key)
}

// AskEmail sends the visitor of a website conversation a reply asking for
// their email address, in the language locale names (see AskEmailText).
// The reply is marked (Message.AsksEmail) so that the widget shows an email
// field under it. A visitor who has an email already is not asked.
// Without a locale, the request speaks the visitor's language. With email
// forwarding off, it does not say that replies will follow by email.
func (s *Service) AskEmail(ctx context.Context, a model.Agent, conversationID, locale string) (model.Message, error) {
	if locale == "" {
		c, err := s.db.Conversation(ctx, a.WorkspaceID, conversationID)
		if err != nil {
			return model.Message{}, notFound(err, "conversation")
		}
		locale = c.Visitor.Language
	}
	w, err := s.db.Workspace(ctx, a.WorkspaceID)
	if err != nil {
		return model.Message{}, fmt.Errorf("ask for an email: %w", err)
	}
	forwarding := w.Settings.EmailForwarding != model.ForwardOff
	return s.postMessage(ctx, a, conversationID, askEmailText(locale, forwarding), model.KindReply, nil, true)
}

// canAskEmail refuses to ask for an email where the widget cannot take it
// or the visitor gave one already.
func canAskEmail(c model.Conversation) error {
	if c.Channel != model.ChannelWebsite {
		return newError(CodeNotWebsite, "only a website visitor can be asked for an email in the chat")
	}
	if c.Visitor.HasEmail() {
		return newError(CodeVisitorHasEmail, "the visitor has an email address already")
	}
	return nil
}
