package chat

import (
	"context"
	"strings"

	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/model"
)

// AskEmailText returns the request for an email in the language of a BCP 47
// tag ("fr", "fr-CA", "PT_br"), or in English when the language is not one
// Parley speaks. It is a plain reply: other clients and forwarded emails
// show it as text, the widget adds an email field under it.
func AskEmailText(locale string) string {
	return i18n.For(i18n.Resolve(strings.ReplaceAll(locale, "_", "-"), "", i18n.Default)).T("chat.ask_email")
}

// AskEmail sends the visitor of a website conversation a reply asking for
// their email address, in the language locale names (see AskEmailText).
// The reply is marked (Message.AsksEmail) so that the widget shows an email
// field under it. A visitor who has an email already is not asked.
// Without a locale, the request speaks the visitor's language.
func (s *Service) AskEmail(ctx context.Context, a model.Agent, conversationID, locale string) (model.Message, error) {
	if locale == "" {
		c, err := s.db.Conversation(ctx, a.WorkspaceID, conversationID)
		if err != nil {
			return model.Message{}, notFound(err, "conversation")
		}
		locale = c.Visitor.Language
	}
	return s.postMessage(ctx, a, conversationID, AskEmailText(locale), model.KindReply, nil, true)
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
