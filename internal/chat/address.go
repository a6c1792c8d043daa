package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// Whether a workspace may email an address belongs to the address: an
// unsubscribe or a bounce covers every visitor of the workspace with that
// address (in any letter case), now and later, until the person opts in
// again from the widget's contact form.

// Contact is what the widget's contact form sends.
type Contact struct {
	Email string
	Name  string
	// EmailOptIn is the form's opt-in box: ticked, it asks for an address
	// that was unsubscribed or bouncing to receive emails again. Anybody
	// can type an address, so the address's owner confirms it from an
	// email (requestOptIn), unless the site identified the visitor.
	EmailOptIn bool
}

// UnsubscribeLink is what an unsubscribe link names: an address of a
// workspace, and the language to speak to its owner (their visitor's; ""
// when unknown).
type UnsubscribeLink struct {
	Address   string
	Workspace model.Workspace
	Language  string
}

// unsubscribeAddress checks an unsubscribe link and returns the address it
// covers, its workspace and its visitor's language.
func (s *Service) unsubscribeAddress(ctx context.Context, tok string) (UnsubscribeLink, error) {
	invalid := func(err error) error {
		return &Error{Code: CodeInvalidToken, Message: "invalid unsubscribe link", Err: err}
	}
	var (
		workspaceID string
		l           UnsubscribeLink
	)
	if id, err := s.signer.Verify(token.UnsubscribeAddress, tok); err == nil {
		a, err := s.db.EmailAddressByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return l, invalid(err)
		}
		if err != nil {
			return l, err
		}
		workspaceID, l.Address = a.WorkspaceID, a.Address
		// The link names the address, which visitors share: the
		// language of the one who chatted last.
		if l.Language, err = s.db.AddressLanguage(ctx, a.WorkspaceID, a.Address); err != nil {
			return l, err
		}
	} else if id, err := s.signer.Verify(token.Unsubscribe, tok); err == nil {
		// Links of emails sent before addresses had their own status name
		// the visitor: they cover the visitor's address.
		v, err := s.db.VisitorByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !v.HasEmail() {
			return l, invalid(err)
		}
		if err != nil {
			return l, err
		}
		workspaceID, l.Address, l.Language = v.WorkspaceID, model.EmailKey(*v.Email), v.Language
	} else {
		return l, invalid(err)
	}
	w, err := s.db.Workspace(ctx, workspaceID)
	l.Workspace = w
	return l, notFound(err, "workspace")
}

// UnsubscribeTarget checks an unsubscribe link without acting on it and
// returns what it names.
func (s *Service) UnsubscribeTarget(ctx context.Context, tok string) (UnsubscribeLink, error) {
	return s.unsubscribeAddress(ctx, tok)
}

// Unsubscribe stops forwarded emails to the address an unsubscribe link
// names (List-Unsubscribe, RFC 8058), for every visitor of the workspace
// with it. Using the link again changes nothing. It returns what the link
// names.
func (s *Service) Unsubscribe(ctx context.Context, tok string) (UnsubscribeLink, error) {
	l, err := s.unsubscribeAddress(ctx, tok)
	if err != nil {
		return l, err
	}
	if err := s.stopAddress(ctx, l.Workspace.ID, l.Address, model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "",
		"not sent: the address was unsubscribed"); err != nil {
		return l, err
	}
	return l, nil
}

// stopAddress records an unsubscribe or a bounce of addr, gives up the
// emails to it still in the outbox, and tells agents and the forwarding
// engine about every visitor with it.
func (s *Service) stopAddress(ctx context.Context, workspaceID, addr, status, source, detail, cancelReason string) error {
	now := s.now()
	var (
		changed bool
		replies []string
	)
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		var err error
		if changed, err = tx.StopEmailAddress(ctx, workspaceID, addr, status, source, detail, now); err != nil {
			return err
		}
		replies, err = tx.CancelQueuedEmailsTo(ctx, workspaceID, addr, cancelReason, now)
		return err
	})
	if err != nil {
		return err
	}
	s.sendAgain(ctx, workspaceID, replies)
	if changed || len(replies) > 0 {
		s.log.Info("address stopped", "workspace", workspaceID, "status", status, "cancelled_replies", len(replies))
		s.addressChanged(ctx, workspaceID, addr)
	}
	return nil
}

// addressChanged tells agents and the forwarding engine about every
// visitor with addr.
func (s *Service) addressChanged(ctx context.Context, workspaceID, addr string) {
	ids, err := s.db.VisitorIDsWithEmail(ctx, workspaceID, addr)
	if err != nil {
		s.log.Error("list visitors of an address", "workspace", workspaceID, "err", err)
		return
	}
	for _, id := range ids {
		s.visitorUpdated(ctx, id)
	}
}

// VisitorContact stores the contact form without the opt-in box ticked.
func (s *Service) VisitorContact(ctx context.Context, visitorID, email, name string) (model.Visitor, error) {
	return s.SubmitContact(ctx, visitorID, Contact{Email: email, Name: name})
}

// SubmitContact stores the contact form: the visitor's email and name, and
// with the opt-in box ticked, the person's wish to receive emails at that
// address again (stored with its time).
func (s *Service) SubmitContact(ctx context.Context, visitorID string, c Contact) (model.Visitor, error) {
	addr, err := ValidateEmail(c.Email)
	if err != nil {
		return model.Visitor{}, err
	}
	n, err := cleanName(c.Name)
	if err != nil {
		return model.Visitor{}, err
	}
	v, err := s.db.VisitorByID(ctx, visitorID)
	if err != nil {
		return v, notFound(err, "visitor")
	}
	if d := s.contactLimits.wait(v.ID, s.now()); d > 0 {
		return v, rateLimited(fmt.Sprintf("too many contact forms; try again in %s", roundUp(d)), d)
	}
	if v.Verified() && (v.Email == nil || !strings.EqualFold(*v.Email, addr)) {
		return v, newError(CodeForbidden, "the email of a visitor the site identified is the site's: it cannot be changed here")
	}
	var former string
	if v.HasEmail() && !strings.EqualFold(strings.TrimSpace(*v.Email), addr) {
		former = *v.Email
	}
	v.Email = &addr
	source := model.EmailFromContactForm
	v.EmailSource = &source
	if n != nil {
		v.Name = n
	}
	// The site vouches for an identified visitor's address: their opt-in
	// counts at once.
	optInNow := c.EmailOptIn && v.Verified()
	if optInNow {
		if err := s.db.OptInEmailAddress(ctx, v.WorkspaceID, addr, s.now()); err != nil {
			return v, err
		}
	}
	v, err = s.saveContact(ctx, v)
	if err != nil {
		return v, err
	}
	if former != "" {
		s.notifyAddressChange(ctx, v, former, addr)
	}
	switch {
	case optInNow:
		s.othersWithAddress(ctx, v, addr)
	case c.EmailOptIn:
		s.requestOptIn(ctx, v, addr)
	}
	return v, nil
}

// othersWithAddress tells agents and the engine about the workspace's other
// visitors with addr, whose emails an opt-in restarted too.
func (s *Service) othersWithAddress(ctx context.Context, v model.Visitor, addr string) {
	ids, err := s.db.VisitorIDsWithEmail(ctx, v.WorkspaceID, addr)
	if err != nil {
		s.log.Error("list visitors of an address", "workspace", v.WorkspaceID, "err", err)
		return
	}
	for _, id := range ids {
		if id != v.ID {
			s.visitorUpdated(ctx, id)
		}
	}
}
