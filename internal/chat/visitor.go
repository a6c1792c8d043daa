package chat

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Session is the widget's session answer.
type Session struct {
	VisitorToken        string            `json:"visitor_token"`
	Visitor             model.Visitor     `json:"visitor"`
	ConversationID      *string           `json:"conversation_id"`
	AgentsAvailable     bool              `json:"agents_available"`
	ContactFormRequired bool              `json:"contact_form_required"`
	ContactForm         model.ContactForm `json:"contact_form"`
	WorkspaceName       string            `json:"workspace_name"`
	// EmailForwarding tells the widget whether unread replies are emailed
	// (the workspace's email_forwarding is not "off"), so it offers to
	// collect an address only then.
	EmailForwarding bool `json:"email_forwarding"`
	// Locale is the language the widget speaks (one of i18n.Languages).
	Locale string     `json:"locale"`
	Widget WidgetView `json:"widget"`
}

// SessionLanguage is what a widget's session request says of the
// visitor's language: the page's locale (BCP 47) and the browser's
// Accept-Language header. Anything unknown or malformed is passed over,
// never refused.
type SessionLanguage struct {
	Locale, AcceptLanguage string
}

// Session starts or resumes a visitor on a site. With an identity (nil:
// none) whose hash verifies, the visitor is the site's user on every
// device; one without a hash, allowed while the workspace does not demand
// verification, only fills in the contact details of this browser's
// visitor. addr is the client's address (its /64 for IPv6), which the
// limits on new anonymous visitors key on. What sc tells about the
// visitor is stored with it: a new visitor is created with it, a known
// one is written only where it changed.
func (s *Service) Session(ctx context.Context, siteKey, visitorToken, addr string, id *Identity, lang SessionLanguage, sc SessionContext) (Session, error) {
	w, avail, err := s.siteWorkspace(ctx, siteKey)
	if err != nil {
		return Session{}, err
	}
	verified := false
	if id != nil {
		if verified, err = s.checkIdentity(ctx, w, id); err != nil {
			return Session{}, err
		}
	}
	var v model.Visitor
	found, created := false, false
	// The newest conversation of the token's visitor, read with it.
	var latest struct{ visitorID, conversationID string }
	if visitorToken != "" {
		// A token of another workspace, or of an older generation (the
		// visitor's links were reset), starts a new visitor.
		tv, current, ok, err := ofToken(ctx, s, visitorToken, func(ctx context.Context, id string) (model.Visitor, error) {
			v, conv, err := s.db.VisitorWithLatestConversation(ctx, id, model.ChannelWebsite)
			latest.visitorID, latest.conversationID = v.ID, conv
			return v, err
		}, func(v model.Visitor) int { return v.TokenGeneration })
		if err != nil {
			return Session{}, err
		}
		if ok && current && tv.WorkspaceID == w.ID {
			v, found = tv, true
		}
	}
	switch {
	case verified:
		var current *model.Visitor
		if found {
			current = &v
		}
		if v, err = s.identifiedVisitor(ctx, w, *id, current); err != nil {
			return Session{}, err
		}
		visitorToken = s.visitorToken(v)
	case !found:
		created = true
		if err := s.limits.check(s.limits.sessionsByAddr, s.limits.sessionsBySite, addr, w.ID, s.now(), "new visitors"); err != nil {
			return Session{}, err
		}
		// Created with its language and context: one write, not three.
		v = s.withContext(model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: s.now(),
			Language: i18n.Resolve(lang.Locale, lang.AcceptLanguage, w.Settings.DefaultLocale)}, sc)
		if v.Page == nil {
			err = s.db.CreateVisitor(ctx, v)
		} else {
			err = s.db.InTx(ctx, func(tx *store.Store) error { return tx.CreateVisitor(ctx, v) })
		}
		if err != nil {
			return Session{}, err
		}
		visitorToken = s.visitorToken(v)
	}
	if id != nil && (verified || !v.Verified()) {
		// An unverified identity never changes the details of a verified visitor.
		if v, err = s.applyIdentity(ctx, v, *id); err != nil {
			return Session{}, err
		}
	}
	if v, err = s.rememberLanguage(ctx, v, w.Settings, lang); err != nil {
		return Session{}, err
	}
	if !created {
		if v, err = s.updateVisitorContext(ctx, v, sc); err != nil {
			return Session{}, err
		}
	}
	sess := Session{VisitorToken: visitorToken, Visitor: v, ContactForm: w.Settings.ContactForm, WorkspaceName: w.Name,
		EmailForwarding: w.Settings.EmailForwarding != model.ForwardOff,
		Locale:          v.Language, Widget: widgetView(w.Settings, v.Language)}
	switch {
	case created: // a new visitor has no conversation yet
	case v.ID == latest.visitorID: // read with the token's visitor
		if latest.conversationID != "" {
			sess.ConversationID = &latest.conversationID
		}
	default: // an identified visitor, another than the token's
		if id, err := s.db.LatestConversationIDOfVisitor(ctx, v.ID, model.ChannelWebsite); err == nil {
			sess.ConversationID = &id
		} else if !errors.Is(err, store.ErrNotFound) {
			return Session{}, err
		}
	}
	sess.AgentsAvailable = avail
	sess.ContactFormRequired = contactFormRequired(w.Settings, avail, v)
	s.sessionKeys.remember(v.Key(), s.now())
	return sess, nil
}

// siteWorkspace is a site's workspace and whether any of its agents is
// available.
type siteWorkspace struct {
	w     model.Workspace
	avail bool
}

// siteWorkspace reads the workspace of a site key and whether any of its
// agents is available, as SiteWorkspace, or takes them from what a session
// of the last moments read (see kept): every widget opening asks.
func (s *Service) siteWorkspace(ctx context.Context, siteKey string) (model.Workspace, bool, error) {
	k, err := s.sites.read(siteKey, s.db.AccountsGeneration(), s.now(), func() (siteWorkspace, time.Time, error) {
		w, avail, err := s.db.SiteWorkspace(ctx, siteKey)
		if errors.Is(err, store.ErrNotFound) {
			err = &Error{Code: CodeUnknownSite, Message: "unknown site key", Err: err}
		}
		return siteWorkspace{w, avail}, time.Time{}, err
	})
	return k.w, k.avail, err
}

// contactFormRequired tells whether the workspace demands an email before it
// takes a message from this visitor now.
func contactFormRequired(st model.Settings, agentsAvailable bool, v model.Visitor) bool {
	if v.HasEmail() {
		return false
	}
	if agentsAvailable {
		return st.ContactForm.Online == "required"
	}
	return st.ContactForm.OfflineRequiresForm
}

// AllowWidgetConnection tells whether a client address may open one more
// widget connection now (a rate_limited error when it may not).
func (s *Service) AllowWidgetConnection(addr string) error {
	return s.limits.check(s.limits.connsByAddr, nil, addr, "", s.now(), "connections")
}

// VisitorMessages lists the public messages of the visitor's website
// conversation.
func (s *Service) VisitorMessages(ctx context.Context, v model.Visitor) (ms []model.Message, seenID string, err error) {
	convID, seenID, err := s.db.LatestConversationSeenOfVisitor(ctx, v.ID, model.ChannelWebsite)
	if errors.Is(err, store.ErrNotFound) {
		return []model.Message{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	ms, err = s.db.Messages(ctx, v.WorkspaceID, convID, true)
	if err == nil {
		ms, err = s.authorAvatars(ctx, ms)
	}
	return messagesURLs(ms, s.opts.PublicURL, visitorURLs), seenID, err
}

// VisitorSend stores a visitor's message (from the widget or, with channel
// email, from an email reply). A client id already used in the conversation
// returns the stored message instead of a second one.
func (s *Service) VisitorSend(ctx context.Context, visitorID, body, clientID, channel string) (model.Message, error) {
	return s.VisitorSendFiles(ctx, visitorID, body, clientID, channel, "", nil)
}

// VisitorSendFiles is VisitorSend with files the visitor uploaded
// (attachment_ids); the body may then be empty. addr is the client's
// address for the per-address limit ("" when there is none).
func (s *Service) VisitorSendFiles(ctx context.Context, visitorID, body, clientID, channel, addr string, attachmentIDs []string) (model.Message, error) {
	body, err := checkBodyWithFiles(body, attachmentIDs)
	if err != nil {
		return model.Message{}, err
	}
	if len(clientID) > 100 || !utf8.ValidString(clientID) {
		return model.Message{}, newError(CodeBadRequest, "client_id is at most 100 bytes of UTF-8")
	}
	now := s.now()
	if d := s.visitorLimits.wait(visitorID, now); d > 0 {
		return model.Message{}, rateLimited("too many messages; slow down", d)
	}
	var (
		v         model.Visitor
		w         model.Workspace
		msg       model.Message
		duplicate bool
		conv      model.Conversation
		learned   *model.Message
		line      *model.Message // the line saying the message reopened the conversation
		assigned  *model.Message // the line saying it was assigned automatically
		created   bool
	)
	hooks := s.hooks()
	err = s.db.InTxThen(ctx, func(tx *store.Store) error {
		line, assigned = nil, nil
		// The visitor and the workspace are read in the transaction: on
		// SQLite by the writer, whose cache is warm, and as of the write,
		// so that the forwarding engine can start from them.
		var err error
		if v, err = tx.VisitorByID(ctx, visitorID); err != nil {
			return notFound(err, "visitor")
		}
		if err := s.limits.check(s.limits.messagesByAddr, s.limits.messagesBySite, addr, v.WorkspaceID, now, "messages"); err != nil {
			return err
		}
		var avail bool
		if w, avail, err = tx.WorkspaceAvailable(ctx, v.WorkspaceID); err != nil {
			return err
		}
		if channel == model.MsgChannelWidget && contactFormRequired(w.Settings, avail, v) {
			return newError(CodeContactFormRequired, "please leave your email address first")
		}
		c, err := tx.LatestConversationOfVisitor(ctx, v.ID, model.ChannelWebsite)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c = model.Conversation{ID: model.NewID(), WorkspaceID: w.ID, Visitor: v, Status: "open",
				Channel: model.ChannelWebsite, CreatedAt: now, LastMessageAt: now}
			if err := tx.CreateConversation(ctx, c); err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		}
		msg = model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
			Author: model.Author{Kind: model.AuthorVisitor, ID: &v.ID, Name: v.Name},
			Kind:   model.KindReply, Channel: channel, Body: body, CreatedAt: now}
		if clientID != "" {
			msg.ClientID = &clientID
		}
		// Stored with its conversation's reopening and touch; the
		// conversation it leaves is derived from the one read above.
		derived := false
		conv, derived, err = tx.CreateVisitorMessage(ctx, c, msg)
		if errors.Is(err, store.ErrDuplicate) {
			// A resend of a message stored before (its client id):
			// the stored one is echoed, nothing is written.
			msg, err = tx.MessageByClientID(ctx, c.ID, clientID)
			duplicate = err == nil
			return err
		}
		if err != nil {
			return err
		}
		if err := attachUploads(ctx, tx, &msg, attachmentIDs, func(u store.Upload) bool { return u.VisitorID == v.ID }); err != nil {
			return err
		}
		// Only the widget (and its HTTP fallback) identifies a visitor by
		// an address in a message: an email answer comes from an address
		// already known.
		if channel == model.MsgChannelWidget {
			if learned, err = s.learnEmail(ctx, tx, v, c, body, now); err != nil {
				return err
			}
			if err := tx.MarkReturned(ctx, v.ID, now); err != nil {
				return err
			}
		}
		if err := tx.TouchVisitor(ctx, v.ID, now); err != nil {
			return err
		}
		conv.Visitor = store.TouchedVisitor(conv.Visitor, now)
		// A new conversation was made in Go, not read; a learned address
		// changed the visitor and added a line: those are read again.
		if created || learned != nil || !derived {
			if conv, err = tx.Conversation(ctx, w.ID, c.ID); err != nil {
				return err
			}
		}
		line = s.reopenedLine(c, conv, "wrote again")
		if err := saveLine(ctx, tx, line); err != nil {
			return err
		}
		if assigned, conv, err = s.autoAssign(ctx, tx, w, conv); err != nil {
			return err
		}
		if forward.SettlesWritten(s.db.Dialect(), conv) {
			if _, err := settleForwarding(ctx, tx, &conv, w); err != nil {
				return err
			}
		}
		return s.emitNewMessage(ctx, hooks, tx, c, conv, created, msg, learned, line, assigned)
	}, func() {
		// In the order of the rows (store.DB.InTxThen). A resend after a
		// reconnect (duplicate) is echoed so the widget can reconcile;
		// nothing was stored.
		s.pub.ToVisitor(v.ID, s.messageFrame(msg))
		if !duplicate {
			s.toAgents(w.ID, realtime.MessageCreated, msg)
			s.lineToAgents(w.ID, line)
			s.lineToAgents(w.ID, assigned)
			s.eval.ConversationWritten(conv, &w)
		}
	})
	if err != nil {
		return model.Message{}, err
	}
	hooks.done()
	if duplicate {
		return msg, nil
	}
	if learned != nil {
		s.toAgents(w.ID, realtime.MessageCreated, *learned)
		if nv, err := s.db.VisitorByID(ctx, v.ID); err == nil {
			s.publishContact(nv)
		} else {
			s.log.Error("reload visitor after learning their email", "visitor", v.ID, "err", err)
		}
		s.eval.VisitorChanged(ctx, v.ID)
	}
	s.toAgents(w.ID, realtime.ConversationUpdated, conv)
	return msg, nil
}

func (s *Service) saveContact(ctx context.Context, v model.Visitor) (model.Visitor, error) {
	if err := s.db.UpdateVisitorContact(ctx, v); err != nil {
		return v, err
	}
	v, err := s.db.VisitorByID(ctx, v.ID)
	if err != nil {
		return v, err
	}
	s.publishContact(v)
	s.eval.VisitorChanged(ctx, v.ID)
	return v, nil
}

// publishContact tells the visitor's widget (a contact frame) and the
// agents (visitor.updated) of the visitor's new details.
func (s *Service) publishContact(v model.Visitor) {
	s.pub.ToVisitor(v.ID, encode(struct {
		Type    realtime.FrameType `json:"type"`
		Visitor model.Visitor      `json:"visitor"`
	}{realtime.FrameContact, v}))
	s.toAgents(v.WorkspaceID, realtime.VisitorUpdated, v)
}

// VisitorRead moves the visitor's read cursor up to messageID.
func (s *Service) VisitorRead(ctx context.Context, visitorID, messageID string) error {
	if messageID == "" || len(messageID) > 64 {
		return newError(CodeBadRequest, "read needs a message_id")
	}
	v, err := s.db.VisitorKeyByID(ctx, visitorID)
	if err != nil {
		return notFound(err, "visitor")
	}
	m, err := s.db.Message(ctx, v.WorkspaceID, messageID)
	if err != nil {
		return notFound(err, "message")
	}
	convID, err := s.db.LatestConversationIDOfVisitor(ctx, v.ID, model.ChannelWebsite)
	if err != nil || convID != m.ConversationID || !m.Public() {
		return newError(CodeNotFound, "message not found")
	}
	now := s.now()
	var stamped []string
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		var err error
		stamped, err = tx.MarkReadByVisitor(ctx, convID, m.ID, now)
		return err
	})
	if err != nil {
		return err
	}
	s.readByVisitor(ctx, v.WorkspaceID, v.ID, stamped)
	s.eval.ConversationChanged(ctx, convID)
	return nil
}

// readByVisitor tells of replies the visitor has now read (stamped): the
// agents see them read, and the visitor's tabs and devices drop them
// from their unread count.
func (s *Service) readByVisitor(ctx context.Context, workspaceID, visitorID string, stamped []string) {
	if len(stamped) == 0 {
		return
	}
	read := s.sendAgain(ctx, workspaceID, stamped)
	if read, err := s.authorAvatars(ctx, read); err == nil {
		for _, msg := range read {
			s.pub.ToVisitor(visitorID, s.messageFrame(msg))
		}
	}
}

// VisitorActivity records that the visitor is active on the page.
func (s *Service) VisitorActivity(ctx context.Context, visitorID string) error {
	if err := s.db.TouchVisitor(ctx, visitorID, s.now()); err != nil {
		return err
	}
	s.eval.VisitorChanged(ctx, visitorID)
	return nil
}

// trimmed returns a pointer to the trimmed string, nil when empty.
func trimmed(p *string) *string {
	if p == nil {
		return nil
	}
	t := strings.TrimSpace(*p)
	if t == "" {
		return nil
	}
	return &t
}
