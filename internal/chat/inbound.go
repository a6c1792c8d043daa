package chat

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/parleychat/parley/internal/filetype"
	"github.com/parleychat/parley/internal/mail/address"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// MaxAttachmentBytes is the largest attachment kept from an email reply.
const MaxAttachmentBytes = 10 << 20

// EmailAnswer is a visitor's answer to a forwarded email, as the inbound
// mail adapter read it.
type EmailAnswer struct {
	// ClientID identifies the email (at most 100 bytes), so that the same
	// email delivered twice is stored once.
	ClientID string
	// FromName and FromAddress are the sender; both empty when the email
	// names none.
	FromName, FromAddress string
	// Text is only what the sender wrote, without quoted text or signature;
	// it may be empty (an attachment alone).
	Text        string
	Attachments []EmailAttachment
	// Subject and Original are the email's subject and whole text, kept
	// for agents to read beside the new text.
	Subject, Original string
	// MayHoldQuote: Text is the whole text because no quote marker was
	// found, yet it ends like an older message.
	MayHoldQuote bool
	// AddressGeneration is the generation of the visitor's links the reply
	// address was made in: one of an earlier generation (the visitor's
	// links were reset since) is refused, as the links are.
	AddressGeneration int
	// WithoutSent cuts from Text a copy of an email Parley sent in the
	// conversation (sent: the newest, as raw MIME) that the visitor's mail
	// client pasted without marking it as a quote; nil: nothing is cut.
	// Reading mail is below chat: the caller gives it, and it runs only for
	// an answer that is taken (not one refused for its rate).
	WithoutSent func(text string, sent [][]byte) string
}

// EmailAttachment is a file that came with an email answer.
type EmailAttachment struct {
	Filename    string // "" if the email names none
	ContentType string // media type, without parameters
	Data        []byte
	Inline      bool // shown in the body (an inline image): not kept
}

// EmailBounceReport is what a delivery status notification says about one
// of the forwarded emails.
type EmailBounceReport struct {
	OriginalMessageID    string   // Message-ID of the returned email, without <>
	OriginalConversation string   // its X-Parley-Conversation header, if any
	Recipients           []string // the addresses that failed (or were delayed), lower-cased
	Status               string   // e.g. "5.1.1"
	Diagnostic           string
	Permanent            bool // the address does not work
}

// ErrConversationGone is returned (wrapped) by EmailReply when the
// conversation an answer names no longer exists: the answer can never be
// stored, so it is refused for good rather than retried. It carries the
// not_found code.
var ErrConversationGone = &Error{Code: CodeNotFound, Message: "conversation not found"}

// sentEmailsRead bounds the emails of a conversation an answer is
// compared with (EmailAnswer.WithoutSent): the newest.
const sentEmailsRead = 5

// withoutSent is m.Text without a pasted copy of one of the conversation's
// newest emails (m.WithoutSent).
func (s *Service) withoutSent(ctx context.Context, conversationID string, m EmailAnswer) (string, error) {
	if m.WithoutSent == nil {
		return m.Text, nil
	}
	es, err := s.db.NewestEmails(ctx, conversationID, sentEmailsRead)
	if err != nil {
		return "", fmt.Errorf("emails of conversation %s: %w", conversationID, err)
	}
	raws := make([][]byte, len(es))
	for i, e := range es {
		raws[i] = e.Raw
	}
	return m.WithoutSent(m.Text, raws), nil
}

// EmailReply stores a visitor's answer to a forwarded email in its
// conversation, exactly as a widget message: only the new text, pushed to
// agents, the conversation reopened. The same email twice is stored once.
// It returns the message (zero when nothing new was said).
func (s *Service) EmailReply(ctx context.Context, conversationID string, m EmailAnswer) (model.Message, error) {
	c, err := s.db.ConversationByID(ctx, conversationID)
	if errors.Is(err, store.ErrNotFound) {
		// The token was good but the conversation is gone: refuse for good
		// so the sending server does not retry for days.
		return model.Message{}, fmt.Errorf("conversation %s: %w", conversationID, ErrConversationGone)
	}
	if err != nil {
		return model.Message{}, err
	}
	if m.AddressGeneration != c.Visitor.TokenGeneration {
		s.log.Warn("email reply refused: its address was made before the visitor's links were reset", "conversation", c.ID)
		return model.Message{}, fmt.Errorf("reply address of conversation %s from before a reset of the links: %w", c.ID, ErrConversationGone)
	}
	var from string // the sender's address, if it is a valid one
	if m.FromAddress != "" {
		if addr, err := address.Validate(m.FromAddress); err == nil {
			from = addr
		}
	}
	now := s.now()
	// Both buckets are charged, so a flood from one sender drains it
	// whichever conversations it writes to.
	byVisitor, bySender := s.emailByVisitor.allow(c.Visitor.ID, now), from == "" || s.emailBySender.allow(strings.ToLower(from), now)
	if !byVisitor || !bySender {
		s.log.Warn("email reply refused: too many", "conversation", c.ID, "visitor", c.Visitor.ID, "per_visitor", !byVisitor, "per_sender", !bySender)
		return model.Message{}, rateLimited("too many email replies; try again later", time.Minute)
	}
	text, err := s.withoutSent(ctx, c.ID, m)
	if err != nil {
		return model.Message{}, err
	}
	body := strings.TrimSpace(validText(text))
	var files []EmailAttachment
	for _, a := range m.Attachments {
		if !a.Inline {
			files = append(files, a)
		}
	}
	if body == "" && len(files) == 0 {
		s.log.Info("email reply with no new text ignored", "conversation", c.ID)
		return model.Message{}, nil
	}
	if body == "" {
		body = "(attachment)"
	}
	if r := []rune(body); len(r) > MaxMessageLength {
		body = string(r[:MaxMessageLength-1]) + "…"
	}
	author := c.Visitor.Name
	if from != "" && !strings.EqualFold(from, deref(c.Visitor.Email)) {
		// The token proves the thread; show who actually wrote (only an
		// address that passed validation: no bidirectional or invisible
		// characters to disguise it).
		name := from
		if n := strings.TrimSpace(m.FromName); n != "" && !strings.ContainsFunc(n, unsafeInName) {
			name = n + " <" + from + ">"
		}
		author = &name
	}
	clientID := m.ClientID
	msg := model.Message{ID: model.NewID(), WorkspaceID: c.WorkspaceID, ConversationID: c.ID,
		Author: model.Author{Kind: model.AuthorVisitor, ID: &c.Visitor.ID, Name: author},
		Kind:   model.KindReply, Channel: model.MsgChannelEmail, Body: body, ClientID: &clientID, CreatedAt: now}
	var (
		notes []model.Message
		read  []string       // replies now read by the visitor
		line  *model.Message // the line saying the answer reopened the conversation
		// assigned is the line saying it was assigned automatically.
		assigned *model.Message
	)
	duplicate := false
	hooks := s.hooks()
	var conv model.Conversation
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		line, assigned = nil, nil
		if _, err := tx.MessageByClientID(ctx, c.ID, clientID); err == nil {
			duplicate = true
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.CreateMessage(ctx, msg); err != nil {
			return err
		}
		// Answering the email, the visitor read the replies it carried
		// (and those of earlier emails): the widget stops counting them.
		if read, err = tx.MarkEmailedReadByVisitor(ctx, c.ID, msg.ID, now); err != nil {
			return err
		}
		if err := tx.SaveEmailOriginal(ctx, model.EmailOriginal{MessageID: msg.ID, WorkspaceID: msg.WorkspaceID,
			ConversationID: c.ID, MayHoldQuote: m.MayHoldQuote, Subject: validText(m.Subject), Text: validText(m.Original)}); err != nil {
			return err
		}
		msg.MayHoldQuote = m.MayHoldQuote
		// An email's files are a visitor's, which anyone may send: they
		// count in the visitors' half of the quota, as the widget's do.
		var used, visitors int64
		if len(files) > 0 {
			if used, err = tx.AttachmentBytes(ctx, c.WorkspaceID); err != nil {
				return err
			}
			if visitors, err = tx.VisitorFileBytes(ctx, c.WorkspaceID); err != nil {
				return err
			}
		}
		for _, a := range files {
			ft, why := checkAttachment(a)
			size := int64(len(a.Data))
			switch {
			case why != "":
			case used+size > s.opts.AttachmentQuota:
				why = fmt.Sprintf("did not fit: this workspace's files are full (PARLEY_ATTACHMENT_QUOTA = %s)", humanSize(s.opts.AttachmentQuota))
			case visitors+size > s.opts.AttachmentQuota/visitorShare:
				why = fmt.Sprintf("did not fit: visitors' files fill their half of this workspace's space (%s of PARLEY_ATTACHMENT_QUOTA = %s); the other half stays for agents",
					humanSize(visitors), humanSize(s.opts.AttachmentQuota))
			}
			if why != "" {
				notes = append(notes, s.note(c, now, fmt.Sprintf("An attachment of the visitor's email was not kept: %q %s.", displayName(a), why)))
				continue
			}
			used += size
			visitors += size
			att, err := s.saveAttachment(ctx, tx, msg, a, ft, now)
			if err != nil {
				return err
			}
			msg.Attachments = append(msg.Attachments, att)
		}
		for _, n := range notes {
			if err := tx.CreateMessage(ctx, n); err != nil {
				return err
			}
		}
		if err := tx.TouchConversation(ctx, c.ID, now, true); err != nil {
			return err
		}
		if err := tx.MarkEmailAnswered(ctx, c.ID, now); err != nil {
			return err
		}
		var err error
		if conv, err = tx.Conversation(ctx, c.WorkspaceID, c.ID); err != nil {
			return err
		}
		line = s.reopenedLine(c, conv, "answered by email")
		if err := saveLine(ctx, tx, line); err != nil {
			return err
		}
		if assigned, conv, err = s.autoAssignReading(ctx, tx, conv); err != nil {
			return err
		}
		for _, m := range append([]model.Message{msg}, notes...) {
			if err := hooks.emit(ctx, tx, c.WorkspaceID, c.ID, realtime.MessageCreated, m); err != nil {
				return err
			}
		}
		if err := hooks.emitNotes(ctx, tx, line, assigned); err != nil {
			return err
		}
		if c.Status != conv.Status {
			return hooks.emit(ctx, tx, c.WorkspaceID, c.ID, realtime.ConversationUpdated, conv)
		}
		return nil
	})
	if err != nil {
		return model.Message{}, fmt.Errorf("store email reply in %s: %w", c.ID, err)
	}
	if duplicate {
		s.log.Info("email reply delivered twice: kept once", "conversation", c.ID)
		return model.Message{}, nil
	}
	hooks.done()
	s.pub.ToVisitor(c.Visitor.ID, s.messageFrame(msg))
	s.toAgents(c.WorkspaceID, realtime.MessageCreated, msg)
	for _, n := range notes {
		s.toAgents(c.WorkspaceID, realtime.MessageCreated, n)
	}
	s.lineToAgents(c.WorkspaceID, line)
	s.lineToAgents(c.WorkspaceID, assigned)
	s.toAgents(c.WorkspaceID, realtime.ConversationUpdated, conv)
	s.readByVisitor(ctx, c.WorkspaceID, c.Visitor.ID, read)
	s.eval.ConversationChanged(ctx, c.ID)
	return msg, nil
}

// note is a system event in a conversation, seen by agents only.
func (s *Service) note(c model.Conversation, at time.Time, text string) model.Message {
	return model.Message{ID: model.NewID(), WorkspaceID: c.WorkspaceID, ConversationID: c.ID,
		Author: model.Author{Kind: model.AuthorSystem}, Kind: model.KindEvent, Channel: model.MsgChannelEmail, Body: text, CreatedAt: at}
}

// unsafeInName reports the characters refused in a sender's display name:
// controls and format characters (bidirectional overrides, zero-width).
func unsafeInName(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) }

func displayName(a EmailAttachment) string {
	if a.Filename != "" {
		return a.Filename
	}
	return "unnamed " + a.ContentType + " file"
}

// checkAttachment returns the type an attachment is kept as, decided by its
// content, or says why it is not kept.
func checkAttachment(a EmailAttachment) (filetype.Type, string) {
	if len(a.Data) > MaxAttachmentBytes {
		return filetype.Type{}, fmt.Sprintf("is larger than %d MiB", MaxAttachmentBytes>>20)
	}
	t, ok := filetype.Detect(a.Filename, a.Data)
	if !ok {
		return t, "is not an image, PDF, text, CSV, ZIP or office document (or its name does not match its content)"
	}
	return t, ""
}

// saveAttachment stores an attachment of msg, bytes included, in the
// transaction storing msg: a crash leaves both or neither.
func (s *Service) saveAttachment(ctx context.Context, tx *store.Store, msg model.Message, a EmailAttachment, t filetype.Type, now time.Time) (model.Attachment, error) {
	name := CleanFilename(a.Filename)
	if name == "" {
		name = "attachment" + t.Extensions[0]
	}
	att := model.Attachment{ID: model.NewID(), WorkspaceID: msg.WorkspaceID, MessageID: msg.ID, Filename: name,
		ContentType: t.MediaType, Size: int64(len(a.Data)), CreatedAt: now}
	return att, tx.CreateAttachment(ctx, att, a.Data)
}

// attachmentPath is where older versions kept an attachment's bytes.
func (s *Service) attachmentPath(id string) string {
	return filepath.Join(s.opts.AttachmentsDir, filepath.Base(id))
}

// EmailBounce records a delivery status notification: the email it
// returns and its replies become bounced and, when the failure is
// permanent and the report names the email by its Message-ID, the
// visitor's address bouncing, so the engine stops emailing it.
//
// A report is not authenticated: whoever can send mail can send one. The
// Message-ID of an email is known only to its recipient (and the agents:
// References list only the emails to the same address), so a report that
// names it comes from the recipient's side. A report that names only the
// conversation (X-Parley-Conversation, when a relay rewrote the
// Message-ID) marks the conversation's latest email to the recipient
// bounced and tells the agents, but stops no address: a conversation's id
// is its visitor's to know, and a visitor who typed someone's address
// could otherwise stop every email to that person.
func (s *Service) EmailBounce(ctx context.Context, b EmailBounceReport) error {
	e, err := s.db.EmailByMessageID(ctx, b.OriginalMessageID)
	byMessageID := err == nil
	if errors.Is(err, store.ErrNotFound) && b.OriginalConversation != "" && len(b.Recipients) > 0 {
		e, err = s.db.LatestEmailTo(ctx, b.OriginalConversation, b.Recipients[0])
	}
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("bounce for no email of ours ignored", "original_message_id", b.OriginalMessageID)
		return nil
	}
	if err != nil {
		return err
	}
	if !b.Permanent {
		s.log.Info("delivery delayed", "email", e.ID, "status", b.Status)
		return nil
	}
	now := s.now()
	why := "bounced: " + b.Status + " " + b.Diagnostic
	s.emitEmail(ctx, realtime.EmailBounced, e, "bounced", why)
	ids, err := s.db.SetEmailStatus(ctx, e.ID, "bounced", now, why, now)
	if err != nil {
		return err
	}
	s.opts.Metrics.EmailOutcome(metrics.EmailBounced, 0)
	note := fmt.Sprintf("The email to %s bounced (%s %s): no more emails go to this address until the visitor opts in again from the chat's contact form.", e.To, b.Status, b.Diagnostic)
	if byMessageID {
		// The bounce stops the address, whichever visitor now has it.
		if err := s.stopAddress(ctx, e.WorkspaceID, e.To, model.EmailBouncing, model.EmailStatusByBounce,
			strings.TrimSpace(b.Status+" "+b.Diagnostic), "not sent: the address bounced"); err != nil {
			return err
		}
	} else {
		s.log.Info("bounce named the conversation only: the address is not stopped", "email", e.ID)
		note = fmt.Sprintf("The email to %s bounced (%s %s). The report did not name the email Parley sent, so later replies may still be emailed to this address; ask the visitor for another one if it keeps bouncing.", e.To, b.Status, b.Diagnostic)
	}
	c, err := s.db.ConversationByID(ctx, e.ConversationID)
	if err != nil {
		return err
	}
	n := s.note(c, now, note)
	hooks := s.hooks()
	if err := s.saveNote(ctx, hooks, n); err != nil {
		return err
	}
	hooks.done()
	s.sendAgain(ctx, c.WorkspaceID, ids)
	s.toAgents(c.WorkspaceID, realtime.MessageCreated, n)
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// validText is text as the database takes it: valid UTF-8 without NUL.
func validText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}
