package chat

import (
	"context"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/parleychat/parley/internal/mail/address"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// emailSavedText starts the agents-only event that records an email learned
// from the conversation; the address follows it.
const emailSavedText = "Email saved from the conversation: "

// ownDomains are the workspace's own mail domains (PARLEY_MAIL_FROM's and
// PARLEY_INBOUND_DOMAIN): an address there is quoted by a visitor, never
// theirs.
func ownDomains(o Options) []string {
	var ds []string
	if from := strings.TrimSpace(o.MailFrom); from != "" {
		if a, err := mail.ParseAddress(from); err == nil {
			from = a.Address
		}
		if at := strings.LastIndexByte(from, '@'); at >= 0 {
			ds = append(ds, from[at+1:])
		}
	}
	if d := strings.TrimSpace(o.InboundDomain); d != "" {
		ds = append(ds, d)
	}
	return ds
}

// EmailInMessage returns the first address visitor v's message holds that
// could be the visitor's own (valid, not of the workspace's mail domains
// nor of the site v is on: "I wrote to hello@shop.example" on
// shop.example names the shop), or "".
func (s *Service) EmailInMessage(v model.Visitor, body string) string {
	own := s.ownDomains
	if d := siteDomain(v); d != "" {
		own = append(own[:len(own):len(own)], d)
	}
	return address.Find(body, own)
}

// siteDomain is the registrable domain of the page the visitor is on
// ("shop.example" for https://www.shop.example/cart), "" when unknown.
func siteDomain(v model.Visitor) string {
	if v.Page == nil {
		return ""
	}
	u, err := url.Parse(v.Page.URL)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(u.Hostname()))
	if err != nil {
		return ""
	}
	return d
}

// SavedEmailOf returns the address an "email saved from the conversation"
// event recorded.
func SavedEmailOf(m model.Message) (string, bool) {
	if m.Kind != model.KindEvent || m.Author.Kind != model.AuthorSystem || !strings.HasPrefix(m.Body, emailSavedText) {
		return "", false
	}
	return strings.TrimPrefix(m.Body, emailSavedText), true
}

// learnEmail runs in the transaction of a visitor's widget message: when
// the visitor has no email and the message holds an address, the address
// becomes the visitor's email and an agents-only event says so. It returns
// the event, or nil when nothing was learned.
func (s *Service) learnEmail(ctx context.Context, tx *store.Store, v model.Visitor, c model.Conversation, body string, at time.Time) (*model.Message, error) {
	if v.HasEmail() {
		return nil, nil
	}
	addr := s.EmailInMessage(v, body)
	if addr == "" {
		return nil, nil
	}
	ok, err := tx.SetVisitorEmailIfNone(ctx, v.ID, addr, model.EmailFromConversation)
	if err != nil || !ok {
		return nil, err
	}
	ev := model.Message{ID: model.NewID(), WorkspaceID: c.WorkspaceID, ConversationID: c.ID,
		Author: model.Author{Kind: model.AuthorSystem}, Kind: model.KindEvent, Channel: model.MsgChannelWidget,
		Body: emailSavedText + addr, CreatedAt: at}
	if err := tx.CreateMessage(ctx, ev); err != nil {
		return nil, err
	}
	return &ev, nil
}
