package chat

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// A visitor's credential (the visitor token the widget keeps) never leaves
// the visitor's browser: emails carry continue links instead, signed with
// the server's secret, naming the visitor and the conversation, and ending
// after 30 days. Opening one hands that browser the credential. Both carry
// the generation of the visitor's credential: resetting the visitor's links
// increments it, which ends every token and link made before, and closes
// the widgets open with them on every node.

// CodeLinkExpired: a continue link that is over (30 days passed, or the
// visitor's links were reset since it was sent).
const CodeLinkExpired = "link_expired"

// visitorToken returns the credential of the visitor's current generation.
// Generation 0 is the token of earlier versions: the visitor id alone.
func (s *Service) visitorToken(v model.Visitor) string {
	if v.TokenGeneration == 0 {
		return s.signer.Sign(token.Visitor, v.ID)
	}
	return s.signer.Sign(token.Visitor, v.ID+"."+strconv.Itoa(v.TokenGeneration))
}

// tokenVisitor reads the visitor id and generation a visitor token names;
// ok is false for a token that is not Parley's.
func (s *Service) tokenVisitor(tok string) (id string, gen int, ok bool) {
	id, err := s.signer.Verify(token.Visitor, tok)
	if err != nil {
		return "", 0, false
	}
	if vid, g, cut := strings.Cut(id, "."); cut {
		n, err := strconv.Atoi(g)
		if err != nil || n <= 0 {
			return "", 0, false
		}
		return vid, n, true
	}
	return id, 0, true
}

// visitorOfToken returns the visitor a token names and whether the token
// is of the visitor's current generation; ok is false for a token that is
// not Parley's or names nobody.
func (s *Service) visitorOfToken(ctx context.Context, tok string) (v model.Visitor, current, ok bool, err error) {
	return ofToken(ctx, s, tok, s.db.VisitorByID, func(v model.Visitor) int { return v.TokenGeneration })
}

// ofToken is visitorOfToken with what read returns of the visitor (the
// whole visitor, or its key) and generation reads of it.
func ofToken[T any](ctx context.Context, s *Service, tok string, read func(context.Context, string) (T, error), generation func(T) int) (v T, current, ok bool, err error) {
	id, gen, ok := s.tokenVisitor(tok)
	if !ok {
		return v, false, false, nil
	}
	v, err = read(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return v, false, false, nil
	}
	if err != nil {
		return v, false, false, err
	}
	return v, generation(v) == gen, true, nil
}

// authenticated is what ofToken read when the token is good, else the
// error that refuses it.
func authenticated[T any](v T, current, ok bool, err error) (T, error) {
	var none T
	switch {
	case err != nil:
		return none, err
	case !ok:
		return none, newError(CodeInvalidToken, "invalid visitor token")
	case !current:
		return none, newError(CodeInvalidToken, "this visitor token was reset")
	}
	return v, nil
}

// VisitorByToken authenticates a widget's visitor token: a token of an
// earlier generation (the visitor's links were reset) is refused like a
// forged one.
func (s *Service) VisitorByToken(ctx context.Context, tok string) (model.Visitor, error) {
	return authenticated(s.visitorOfToken(ctx, tok))
}

// VisitorKeyByToken is VisitorByToken for a widget's connection, which
// needs only the visitor's key: it reads nothing else of the visitor, and
// nothing at all when this node answered the token's session a moment ago.
func (s *Service) VisitorKeyByToken(ctx context.Context, tok string) (model.VisitorKey, error) {
	if id, gen, ok := s.tokenVisitor(tok); ok {
		if k, ok := s.sessionKeys.take(id, gen, s.now()); ok {
			return k, nil
		}
	}
	return authenticated(ofToken(ctx, s, tok, s.db.VisitorKeyByID, func(k model.VisitorKey) int { return k.TokenGeneration }))
}

// ConnectionTag names the generation of a widget connection's credential,
// so that resetting it closes the connections opened with an older one.
func ConnectionTag(v model.VisitorKey) string { return "g" + strconv.Itoa(v.TokenGeneration) }

// ContinueLink returns the token of a link back to the visitor's
// conversation convID, valid 30 days from now.
func (s *Service) ContinueLink(v model.Visitor, convID string) string {
	return s.signer.SignContinue(token.ContinueLink{WorkspaceID: v.WorkspaceID, VisitorID: v.ID,
		ConversationID: convID, Generation: v.TokenGeneration, Expires: s.now().Add(token.ContinueLinkLifetime)})
}

// Continue is what a valid continue link opens.
type Continue struct {
	Workspace      model.Workspace
	Visitor        model.Visitor
	ConversationID string
	// VisitorToken is the visitor's credential, handed to the browser
	// that opened the link (never put in a URL).
	VisitorToken string
}

// OpenContinueLink checks a continue link: a link Parley did not make (or
// whose conversation is gone) is invalid_token, one whose time is over or
// whose visitor's links were reset since is link_expired; the workspace is
// returned with link_expired when known, for the page that offers to start
// again.
func (s *Service) OpenContinueLink(ctx context.Context, tok string) (Continue, error) {
	l, err := s.signer.VerifyContinue(tok, s.now())
	invalid := &Error{Code: CodeInvalidToken, Message: "this link to a conversation is not valid", Err: err}
	if err != nil && !errors.Is(err, token.ErrExpired) {
		return Continue{}, invalid
	}
	w, werr := s.db.Workspace(ctx, l.WorkspaceID)
	if errors.Is(werr, store.ErrNotFound) {
		return Continue{}, invalid
	}
	if werr != nil {
		return Continue{}, werr
	}
	expired := &Error{Code: CodeLinkExpired, Message: "this link to a conversation has expired", Err: err}
	if err != nil {
		return Continue{Workspace: w}, expired
	}
	v, verr := s.db.Visitor(ctx, w.ID, l.VisitorID)
	if errors.Is(verr, store.ErrNotFound) {
		return Continue{Workspace: w}, invalid
	}
	if verr != nil {
		return Continue{}, verr
	}
	c, cerr := s.db.Conversation(ctx, w.ID, l.ConversationID)
	if errors.Is(cerr, store.ErrNotFound) || cerr == nil && c.Visitor.ID != v.ID {
		return Continue{Workspace: w}, invalid
	}
	if cerr != nil {
		return Continue{}, cerr
	}
	if v.TokenGeneration != l.Generation {
		expired.Message = "the links to this conversation were reset"
		return Continue{Workspace: w}, expired
	}
	return Continue{Workspace: w, Visitor: v, ConversationID: c.ID, VisitorToken: s.visitorToken(v)}, nil
}

// ContinueSession is Session for a browser that opened a continue link:
// the link must be valid and of the site's workspace.
func (s *Service) ContinueSession(ctx context.Context, siteKey, link, addr string, lang SessionLanguage, sc SessionContext) (Session, error) {
	c, err := s.OpenContinueLink(ctx, link)
	if err != nil {
		return Session{}, err
	}
	if c.Workspace.SiteKey != siteKey {
		return Session{}, newError(CodeInvalidToken, "this link to a conversation is for another site")
	}
	return s.Session(ctx, siteKey, c.VisitorToken, addr, nil, lang, sc)
}

// legacyLinkWindow is how long after the last email to a visitor a link of
// an earlier version (the visitor token itself in the URL) still opens the
// conversation: as long as a continue link would.
const legacyLinkWindow = token.ContinueLinkLifetime

// LegacyChatLink handles a link of emails sent by earlier versions, which
// carried the visitor token itself: while the token is current and an
// email went to the visitor in the last 30 days, it returns a continue
// link to open instead (the caller redirects); otherwise link_expired, or
// invalid_token for anything that is no visitor token.
func (s *Service) LegacyChatLink(ctx context.Context, tok string) (string, model.Workspace, error) {
	v, current, ok, err := s.visitorOfToken(ctx, tok)
	if err != nil {
		return "", model.Workspace{}, err
	}
	if !ok {
		return "", model.Workspace{}, newError(CodeInvalidToken, "this link to a conversation is not valid")
	}
	w, err := s.db.Workspace(ctx, v.WorkspaceID)
	if err != nil {
		return "", model.Workspace{}, notFound(err, "workspace")
	}
	expired := newError(CodeLinkExpired, "this link to a conversation has expired")
	if !current {
		return "", w, expired
	}
	last, err := s.db.LastEmailToVisitor(ctx, v.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && s.now().Sub(last) >= legacyLinkWindow {
		return "", w, expired
	}
	if err != nil {
		return "", w, err
	}
	convID, err := s.db.LatestConversationIDOfVisitor(ctx, v.ID, model.ChannelWebsite)
	if errors.Is(err, store.ErrNotFound) {
		return "", w, newError(CodeInvalidToken, "the conversation was deleted")
	}
	if err != nil {
		return "", w, err
	}
	return s.ContinueLink(v, convID), w, nil
}

// ResetVisitorLinks ends the visitor's credential and every continue link
// sent so far: tokens of the old generation are refused from now on, and
// the widgets open with them are closed on every node. It returns the
// visitor and the new credential.
func (s *Service) ResetVisitorLinks(ctx context.Context, workspaceID, visitorID string) (model.Visitor, string, error) {
	gen, err := s.db.NextVisitorTokenGeneration(ctx, workspaceID, visitorID)
	if err != nil {
		return model.Visitor{}, "", notFound(err, "visitor")
	}
	s.sessionKeys.forget(visitorID)
	v, err := s.db.Visitor(ctx, workspaceID, visitorID)
	if err != nil {
		return model.Visitor{}, "", notFound(err, "visitor")
	}
	v.TokenGeneration = gen // the row may already be newer: this reset's generation is kept open
	if n := s.pub.Revoke(realtime.Revocation{VisitorID: v.ID, Except: ConnectionTag(v.Key())}); n > 0 {
		s.log.Info("closed widgets of a reset visitor token", "visitor", v.ID, "connections", n)
	}
	return v, s.visitorToken(v), nil
}

// ResetVisitorLinksBy is ResetVisitorLinks asked by an agent of the
// visitor's workspace ("Reset the visitor's links").
func (s *Service) ResetVisitorLinksBy(ctx context.Context, a model.Agent, visitorID string) (model.Visitor, error) {
	v, _, err := s.ResetVisitorLinks(ctx, a.WorkspaceID, visitorID)
	if err != nil {
		return v, err
	}
	s.log.Info("visitor links reset", "visitor", v.ID, "agent", a.ID)
	return v, nil
}

// RotateVisitorToken is ResetVisitorLinks asked by the widget holding tok:
// it answers the new credential for that widget.
func (s *Service) RotateVisitorToken(ctx context.Context, tok string) (string, error) {
	v, err := s.VisitorByToken(ctx, tok)
	if err != nil {
		return "", err
	}
	_, nt, err := s.ResetVisitorLinks(ctx, v.WorkspaceID, v.ID)
	return nt, err
}

// FileByLink returns the file a link of a forwarded email names: the links
// work without logging in, for 30 days (link_expired after; not_found for
// a link Parley did not make or a file since deleted).
func (s *Service) FileByLink(ctx context.Context, tok string) (model.Attachment, io.ReadSeeker, error) {
	parts, err := s.signer.VerifyLink(token.File, tok, s.now())
	if errors.Is(err, token.ErrExpired) {
		return model.Attachment{}, nil, &Error{Code: CodeLinkExpired, Message: "this link to a file has expired", Err: err}
	}
	if err != nil || len(parts) != 2 {
		return model.Attachment{}, nil, &Error{Code: CodeNotFound, Message: "file not found", Err: err}
	}
	att, err := s.db.Attachment(ctx, parts[0], parts[1])
	if err != nil {
		return att, nil, notFound(err, "file")
	}
	r, err := s.db.File(ctx, parts[0], att.ID)
	return att, r, notFound(err, "file")
}
