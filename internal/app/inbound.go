package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/mail/inbound"
)

// inboundSink hands what inbound mail produces to the chat domain: it turns
// the parsed message into chat's own input and chat's errors into the ones
// the SMTP server and the HTTP hook answer from. Mail sits below chat, so
// this conversion lives where both are wired.
type inboundSink struct{ svc *chat.Service }

var _ inbound.Sink = inboundSink{}

// Reply implements inbound.Sink.
func (k inboundSink) Reply(ctx context.Context, conversationID string, m *inbound.Message) error {
	_, err := k.svc.EmailReply(ctx, conversationID, emailAnswer(m))
	if errors.Is(err, chat.ErrConversationGone) {
		// The token was good but the conversation is gone: refuse for good
		// so the sending server does not retry for days.
		return fmt.Errorf("%w: %w", inbound.ErrUnknownRecipient, err)
	}
	if chat.ErrorCode(err) == chat.CodeRateLimited {
		// Too many replies lately: the sender is asked to retry later.
		return fmt.Errorf("%w: %w", inbound.ErrRateLimited, err)
	}
	return err
}

// Bounce implements inbound.Sink.
func (k inboundSink) Bounce(ctx context.Context, m *inbound.Message) error {
	if m.Bounce == nil {
		return nil
	}
	b := m.Bounce
	return k.svc.EmailBounce(ctx, chat.EmailBounceReport{
		OriginalMessageID:    b.OriginalMessageID,
		OriginalConversation: b.OriginalConversation,
		Recipients:           b.Recipients,
		Status:               b.Status,
		Diagnostic:           b.Diagnostic,
		Permanent:            b.Permanent,
	})
}

// withoutSent cuts from an answer's text a copy of one of the emails sent
// (raw MIME) that the mail client pasted unmarked (inbound.CutOwnEmail,
// on their text parts).
func withoutSent(text string, sent [][]byte) string {
	var texts []string
	for _, raw := range sent {
		if e, err := inbound.Parse(bytes.NewReader(raw)); err == nil && e.Text != "" {
			texts = append(texts, e.Text)
		}
	}
	cut, _ := inbound.CutOwnEmail(text, texts)
	return cut
}

// emailAnswer is the chat input of a parsed reply: its new text, sender,
// attachments and deduplication id.
func emailAnswer(m *inbound.Message) chat.EmailAnswer {
	a := chat.EmailAnswer{ClientID: m.ClientID(), Text: m.NewText, Subject: m.Subject, Original: m.Text, MayHoldQuote: m.MayHoldQuote,
		AddressGeneration: m.AddressGeneration, WithoutSent: withoutSent}
	if m.From != nil {
		a.FromName, a.FromAddress = m.From.Name, m.From.Address
	}
	if len(m.Attachments) > 0 {
		a.Attachments = make([]chat.EmailAttachment, len(m.Attachments))
		for i, f := range m.Attachments {
			a.Attachments[i] = chat.EmailAttachment{Filename: f.Filename, ContentType: f.ContentType, Data: f.Data, Inline: f.Inline}
		}
	}
	return a
}
