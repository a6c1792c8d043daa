package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/mail/message"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// When a visitor's contact form replaces an address they already had by
// another, the former address is told by email, with a link that puts it
// back: whoever holds a visitor's credential (a leaked email of earlier
// versions, a shared computer) cannot quietly send the replies elsewhere.

// NoticeSender sends an email that belongs to no conversation, once,
// straight through the relay (relay.Relay does).
type NoticeSender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// SetNoticeSender connects the relay; without one, notices are logged and
// not sent.
func (s *Service) SetNoticeSender(n NoticeSender) { s.notices = n }

// UndoLinkLifetime is how long the link that puts a former address back
// works.
const UndoLinkLifetime = 7 * 24 * time.Hour

// NoticeInterval is the least time between two notices to one address.
// Anybody can type an address into a chat and replace it, again and again,
// from as many new visitors as they like: the first notice tells the
// person (and its link undoes that change), the next ones would only be
// mail sent at a stranger's wish.
const NoticeInterval = 24 * time.Hour

// notifyAddressChange emails the visitor's former address that it was
// replaced by next, unless the address does not receive emails
// (unsubscribed or bouncing) or was told within NoticeInterval. Failures
// are logged: the change itself stands.
func (s *Service) notifyAddressChange(ctx context.Context, v model.Visitor, former, next string) {
	log := s.log.With("visitor", v.ID)
	w, addr, now, ok := s.claimNotice(ctx, log, "address change notice", v.WorkspaceID, former, s.db.ClaimAddressNotice,
		"former address not told of the change: it receives no emails, or was told within a day")
	if !ok {
		return
	}
	undo := s.signer.SignLink(token.UndoEmail, now.Add(UndoLinkLifetime), w.ID, v.ID, addr.ID)
	msg, err := forward.ComposeAddressChange(forward.AddressChange{
		WorkspaceName: w.Name, MailFrom: s.opts.MailFrom, To: former, NewAddress: next,
		UndoURL: s.opts.PublicURL + "/email-change/undo/" + undo, UndoValidFor: UndoLinkLifetime,
		MessageID: message.NewID("notice."+model.NewID(), s.opts.MailFrom), Now: now,
		Lang: cmp.Or(v.Language, w.Settings.DefaultLocale),
	})
	s.sendNotice(ctx, log, "address change notice", former, msg, err)
}

// claimNotice reads what a notice to addr needs (its workspace, the
// address's row) and takes the address's one notice of the day with claim
// (ClaimAddressNotice or ClaimOptInConfirmation). It reports whether the
// notice goes; when not, it logged why (what names the notice, skipped
// says why a claim was refused).
func (s *Service) claimNotice(ctx context.Context, log *slog.Logger, what, workspaceID, addr string,
	claim func(ctx context.Context, id string, now, since time.Time) (bool, error), skipped string) (model.Workspace, store.EmailAddress, time.Time, bool) {
	now := s.now()
	// The workspace's notices are counted when one goes: an address
	// skipped (told within the day, or receiving no emails) costs nothing.
	limited := func() bool {
		log.Warn(what+" not sent: too many notices from this workspace within the hour", "to", forward.MaskAddress(addr))
		return false
	}
	if s.noticeLimits.ready(workspaceID, now, 1) > 0 {
		return model.Workspace{}, store.EmailAddress{}, now, limited()
	}
	w, err := s.db.Workspace(ctx, workspaceID)
	if err != nil {
		log.Error(what+": read workspace", "err", err)
		return w, store.EmailAddress{}, now, false
	}
	a, err := s.db.EnsureEmailAddress(ctx, w.ID, addr, now)
	if err != nil {
		log.Error(what+": record the address", "err", err)
		return w, a, now, false
	}
	ok, err := claim(ctx, a.ID, now, now.Add(-NoticeInterval))
	switch {
	case err != nil:
		log.Error(what, "err", err)
	case !ok:
		log.Info(skipped, "to", forward.MaskAddress(addr))
	case !s.noticeLimits.allow(workspaceID, now):
		return w, a, now, limited()
	}
	return w, a, now, err == nil && ok
}

// sendNotice sends an email that belongs to no conversation straight
// through the relay; what is logged names it as what. Failures are
// logged: what the email tells stands without it.
func (s *Service) sendNotice(ctx context.Context, log *slog.Logger, what, to string, msg message.Message, err error) {
	var raw []byte
	if err == nil {
		raw, err = msg.Bytes()
	}
	if err != nil {
		log.Error(what+": compose", "err", err)
		return
	}
	if s.notices == nil {
		log.Warn("no relay (PARLEY_SMTP_URL): "+what+" not sent", "to", forward.MaskAddress(to))
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.notices.Send(ctx, s.opts.MailFrom, []string{to}, raw); err != nil {
		log.Error(what+": send", "to", forward.MaskAddress(to), "err", err)
		return
	}
	log.Info(what+" sent", "to", forward.MaskAddress(to))
}

// OptInLinkLifetime is how long the link that confirms an opt-in works.
const OptInLinkLifetime = 7 * 24 * time.Hour

// requestOptIn emails addr, when it receives no emails (unsubscribed or
// bouncing), the link that makes it receive them again: the box ticked in
// a chat proves nothing about who owns the address. At most one such
// email (or change notice) a day goes to an address.
func (s *Service) requestOptIn(ctx context.Context, v model.Visitor, addr string) {
	log := s.log.With("visitor", v.ID)
	w, a, now, ok := s.claimNotice(ctx, log, "opt-in confirmation", v.WorkspaceID, addr, s.db.ClaimOptInConfirmation,
		"opt-in not asked: the address receives emails, or was asked within a day")
	if !ok {
		return
	}
	link := s.signer.SignLink(token.OptIn, now.Add(OptInLinkLifetime), w.ID, a.ID)
	msg, err := forward.ComposeOptInConfirmation(forward.OptInConfirmation{
		WorkspaceName: w.Name, MailFrom: s.opts.MailFrom, To: addr,
		ConfirmURL: s.opts.PublicURL + "/email-opt-in/" + link, ValidFor: OptInLinkLifetime,
		MessageID: message.NewID("notice."+model.NewID(), s.opts.MailFrom), Now: now,
		Lang: cmp.Or(v.Language, w.Settings.DefaultLocale),
	})
	s.sendNotice(ctx, log, "opt-in confirmation", addr, msg, err)
}

// OptInLink is what an opt-in confirmation link names, and the language
// to speak to the address's owner (its visitor's, as for an unsubscribe
// link; "" when unknown).
type OptInLink struct {
	Workspace model.Workspace
	Address   string
	Language  string
}

// OpenOptIn checks an opt-in confirmation link: invalid_token when Parley
// did not make it, link_expired when its 7 days are over.
func (s *Service) OpenOptIn(ctx context.Context, tok string) (OptInLink, error) {
	_, w, a, err := s.openAddressLink(ctx, token.OptIn, tok, 2)
	if err != nil {
		return OptInLink{}, err
	}
	lang, err := s.db.AddressLanguage(ctx, w.ID, a.Address)
	if err != nil {
		return OptInLink{}, err
	}
	return OptInLink{Workspace: w, Address: a.Address, Language: lang}, nil
}

// ConfirmOptIn makes the address an opt-in link names receive emails
// again, for every visitor of the workspace with it.
func (s *Service) ConfirmOptIn(ctx context.Context, tok string) (OptInLink, error) {
	l, err := s.OpenOptIn(ctx, tok)
	if err != nil {
		return l, err
	}
	if err := s.db.OptInEmailAddress(ctx, l.Workspace.ID, l.Address, s.now()); err != nil {
		return l, err
	}
	s.log.Info("opt-in confirmed from the address", "workspace", l.Workspace.ID)
	s.addressChanged(ctx, l.Workspace.ID, l.Address)
	return l, nil
}

// EmailUndo is what an undo link names.
type EmailUndo struct {
	Workspace model.Workspace
	Visitor   model.Visitor
	Former    string // the address to put back
}

// OpenEmailUndo checks an undo link: invalid_token when Parley did not make
// it (or the visitor is gone), link_expired when its 7 days are over.
func (s *Service) OpenEmailUndo(ctx context.Context, tok string) (EmailUndo, error) {
	parts, w, a, err := s.openAddressLink(ctx, token.UndoEmail, tok, 3)
	if err != nil {
		return EmailUndo{}, err
	}
	v, err := s.db.Visitor(ctx, w.ID, parts[1])
	if errors.Is(err, store.ErrNotFound) {
		return EmailUndo{}, &Error{Code: CodeInvalidToken, Message: "this link is not valid", Err: err}
	}
	if err != nil {
		return EmailUndo{}, err
	}
	return EmailUndo{Workspace: w, Visitor: v, Former: a.Address}, nil
}

// openAddressLink checks a link emailed to an address: signed for purpose,
// of n parts, the first naming a workspace and the last an address of it.
// It answers invalid_token when Parley did not make it (or what it names
// is gone), link_expired when it expired.
func (s *Service) openAddressLink(ctx context.Context, purpose, tok string, n int) ([]string, model.Workspace, store.EmailAddress, error) {
	parts, err := s.signer.VerifyLink(purpose, tok, s.now())
	if errors.Is(err, token.ErrExpired) {
		return nil, model.Workspace{}, store.EmailAddress{}, &Error{Code: CodeLinkExpired, Message: "this link has expired", Err: err}
	}
	invalid := &Error{Code: CodeInvalidToken, Message: "this link is not valid", Err: err}
	if err != nil || len(parts) != n {
		return nil, model.Workspace{}, store.EmailAddress{}, invalid
	}
	w, err := s.db.Workspace(ctx, parts[0])
	if errors.Is(err, store.ErrNotFound) {
		return nil, w, store.EmailAddress{}, invalid
	}
	if err != nil {
		return nil, w, store.EmailAddress{}, err
	}
	a, err := s.db.EmailAddressByID(ctx, parts[n-1])
	if errors.Is(err, store.ErrNotFound) || err == nil && a.WorkspaceID != w.ID {
		return nil, w, a, invalid
	}
	return parts, w, a, err
}

// UndoEmailChange puts the former address an undo link names back, and
// resets the visitor's links: whoever made the change holds the visitor's
// credential, and it stops working. A visitor the site has since
// identified keeps the site's address (forbidden).
func (s *Service) UndoEmailChange(ctx context.Context, tok string) (EmailUndo, error) {
	u, err := s.OpenEmailUndo(ctx, tok)
	if err != nil {
		return u, err
	}
	if u.Visitor.Verified() {
		return u, newError(CodeForbidden, "the site identified this visitor: their email is the site's")
	}
	v := u.Visitor
	if v.Email == nil || !strings.EqualFold(*v.Email, u.Former) {
		v.Email = &u.Former
		source := model.EmailFromContactForm
		v.EmailSource = &source
		if v, err = s.saveContact(ctx, v); err != nil {
			return u, fmt.Errorf("put back the former address of visitor %s: %w", v.ID, err)
		}
	}
	if _, _, err := s.ResetVisitorLinks(ctx, v.WorkspaceID, v.ID); err != nil {
		return u, err
	}
	s.log.Info("address change undone from the former address", "visitor", v.ID)
	u.Visitor = v
	return u, nil
}
