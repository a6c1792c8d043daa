package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"

	"github.com/parleychat/parley/internal/token"
)

// Recipient is what an inbound address stands for.
type Recipient struct {
	ConversationID string // the conversation a reply address names; "" for the bounce address
	// Generation is the generation of the visitor's links the reply
	// address was made in (0 for addresses made before generations).
	Generation int
	Bounces    bool // the bounce address (PARLEY_MAIL_FROM), where delivery status notifications arrive
}

// Resolver tells what an address stands for, and false for an address that
// receives no mail.
type Resolver func(addr string) (Recipient, bool)

// TokenResolver resolves reply addresses, reply+TOKEN@inboundDomain with a
// TOKEN that signer made for token.Reply, to the conversation the token
// names, and bounceAddress to the bounce recipient. Addresses compare
// without regard to case, since mail systems change it.
func TokenResolver(signer *token.Signer, inboundDomain, bounceAddress string) Resolver {
	inboundDomain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(inboundDomain), "."))
	bounce := bareAddress(bounceAddress)
	return func(addr string) (Recipient, bool) {
		addr = bareAddress(addr)
		if addr == "" {
			return Recipient{}, false
		}
		if addr == bounce {
			return Recipient{Bounces: true}, true
		}
		at := strings.LastIndexByte(addr, '@')
		if at < 0 || strings.TrimSuffix(addr[at+1:], ".") != inboundDomain {
			return Recipient{}, false
		}
		tok, ok := strings.CutPrefix(addr[:at], "reply+")
		if !ok {
			return Recipient{}, false
		}
		id, gen, err := signer.VerifyGen(token.Reply, tok)
		if err != nil {
			return Recipient{}, false
		}
		return Recipient{ConversationID: id, Generation: gen}, true
	}
}

// bareAddress returns the lower-cased address of "addr", "<addr>" or
// "Name <addr>", or "".
func bareAddress(s string) string {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	return strings.ToLower(strings.Trim(s, "<> "))
}

// Sink receives what inbound mail produces; the chat domain implements it.
// Its methods are called concurrently. An error wrapping ErrUnknownRecipient
// (the conversation no longer exists) refuses the message for good; any
// other error (ErrRateLimited among them) is temporary: the sender is
// asked to retry.
type Sink interface {
	// Reply stores a visitor's answer in the conversation: m.NewText as a
	// visitor message with channel email, deduplicated by m.ClientID().
	Reply(ctx context.Context, conversationID string, m *Message) error
	// Bounce records a delivery status notification (m.Bounce != nil).
	Bounce(ctx context.Context, m *Message) error
}

// ErrUnknownRecipient is returned by Dispatch when no recipient of a
// message is a reply address (or, for a bounce or an auto-reply, the bounce
// address).
var ErrUnknownRecipient = errors.New("no recipient is a Parley reply address")

// ErrRateLimited is wrapped by a Sink error when the sender or the visitor
// sent too many emails lately: the message is refused for now, and its
// sender retries later.
var ErrRateLimited = errors.New("too many email replies; try again later")

// Dispatch routes one parsed message addressed to rcpts. Unless a recipient
// resolves, it returns ErrUnknownRecipient. A bounce goes to Sink.Bounce
// (before the auto-reply check, as delivery status notifications are
// auto-submitted too); an auto-reply is dropped, logged, with a nil error;
// any other message goes to Sink.Reply for the first recipient that names a
// conversation, and is ErrUnknownRecipient if none does (a message to the
// bounce address that is neither).
func Dispatch(ctx context.Context, m *Message, rcpts []string, resolve Resolver, sink Sink, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	known, conversation := false, ""
	for _, addr := range rcpts {
		r, ok := resolve(addr)
		if !ok {
			continue
		}
		known = true
		if r.ConversationID != "" {
			conversation, m.AddressGeneration = r.ConversationID, r.Generation
			break
		}
	}
	switch {
	case !known:
		return ErrUnknownRecipient
	case m.Bounce != nil:
		log.InfoContext(ctx, "inbound bounce", "message_id", m.MessageID, "status", m.Bounce.Status,
			"permanent", m.Bounce.Permanent, "conversation", m.Bounce.OriginalConversation)
		if err := sink.Bounce(ctx, m); err != nil {
			return fmt.Errorf("record bounce %s: %w", m.MessageID, err)
		}
		return nil
	case m.AutoReply != "":
		log.InfoContext(ctx, "inbound auto-reply dropped", "message_id", m.MessageID, "reason", m.AutoReply,
			"conversation", conversation)
		return nil
	case conversation == "":
		return ErrUnknownRecipient
	}
	log.InfoContext(ctx, "inbound reply", "message_id", m.MessageID, "conversation", conversation)
	if err := sink.Reply(ctx, conversation, m); err != nil {
		return fmt.Errorf("store reply to conversation %s: %w", conversation, err)
	}
	return nil
}
