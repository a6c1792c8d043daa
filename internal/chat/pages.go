package chat

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mileusna/useragent"
	"golang.org/x/text/language"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// The visitor's context: what the widget tells about the visitor (page,
// referrer, language, time zone) and what their browser's User-Agent
// says. All of it is the visitor's browser speaking: it is checked for
// shape and size here and escaped wherever it is shown.

// Bounds on what a widget may say about a page.
const (
	MaxPageURL   = 4096
	MaxPageTitle = 500
)

// SessionContext is what a widget tells about its visitor as its session
// starts. Empty fields say nothing.
type SessionContext struct {
	PageURL, PageTitle, Referrer, Locale, TimeZone string
	// UserAgent is the User-Agent header of the session request.
	UserAgent string
}

// visitorContext is a session's context checked for shape: the fields
// to store and the page, when it names one. A value of the wrong shape (a
// locale that is no BCP 47 tag, an unknown time zone, a page that is not
// an http or https URL) is left out rather than refused: the visitor's
// chat must not depend on what their browser reports.
func (s *Service) visitorContext(in SessionContext) (u store.ContextUpdate, page *model.Page) {
	if tag, ok := cleanLocale(in.Locale); ok {
		u.Locale = &tag
	}
	if tz := strings.TrimSpace(in.TimeZone); tz != "" && ValidTimeZone(tz) {
		u.TimeZone = &tz
	}
	if ref, ok := cleanPageURL(in.Referrer); ok {
		u.Referrer = &ref
	}
	if browser, os := ParseUserAgent(in.UserAgent); browser != "" {
		u.Browser = &browser
		if os != "" {
			u.OS = &os
		}
	}
	if pageURL, ok := cleanPageURL(in.PageURL); ok {
		page = &model.Page{URL: pageURL, Title: cleanTitle(in.PageTitle), At: s.now()}
	}
	return u, page
}

// withContext is a new visitor with a session's context, as CreateVisitor
// stores it.
func (s *Service) withContext(v model.Visitor, in SessionContext) model.Visitor {
	u, page := s.visitorContext(in)
	v.VisitorContext = model.VisitorContext{Locale: u.Locale, TimeZone: u.TimeZone, Referrer: u.Referrer,
		Browser: u.Browser, OS: u.OS, Page: page}
	return v
}

// contextChanges is what of a session's context (u and page from
// visitorContext) differs from what v holds: nil where a field is the same,
// no page when v is on that page with that title already.
func contextChanges(v model.Visitor, u store.ContextUpdate, page *model.Page) (store.ContextUpdate, *model.Page) {
	same := func(p, cur *string) *string {
		if p != nil && cur != nil && *p == *cur {
			return nil
		}
		return p
	}
	u = store.ContextUpdate{Locale: same(u.Locale, v.Locale), TimeZone: same(u.TimeZone, v.TimeZone),
		Referrer: same(u.Referrer, v.Referrer), Browser: same(u.Browser, v.Browser), OS: same(u.OS, v.OS)}
	if page != nil && v.Page != nil && v.Page.URL == page.URL && v.Page.Title == page.Title {
		page = nil
	}
	return u, page
}

// updateVisitorContext stores what a session tells about a known visitor
// and returns the visitor as stored. What the visitor holds already (a
// page reload, a returning browser) writes nothing.
func (s *Service) updateVisitorContext(ctx context.Context, v model.Visitor, in SessionContext) (model.Visitor, error) {
	u, page := s.visitorContext(in)
	u, page = contextChanges(v, u, page)
	if u == (store.ContextUpdate{}) && page == nil {
		return v, nil // nothing to record
	}
	// The visitor is read back in the same transaction, on the writer's
	// warm connection, and is the one written.
	var nv model.Visitor
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		if err := tx.UpdateVisitorContext(ctx, v.ID, u); err != nil {
			return err
		}
		if page != nil {
			if _, err := tx.AddVisitorPage(ctx, v.WorkspaceID, v.ID, *page); err != nil {
				return err
			}
		}
		var err error
		nv, err = tx.VisitorByID(ctx, v.ID)
		return err
	})
	if err != nil {
		return v, err
	}
	// DeepEqual compares what the pointers point to.
	if !reflect.DeepEqual(nv.VisitorContext, v.VisitorContext) {
		s.toAgents(nv.WorkspaceID, realtime.VisitorUpdated, nv)
	}
	return nv, nil
}

// VisitorPage records that the visitor is on a page now (the widget's page
// frame). The agents get visitor.updated when it is a new page.
func (s *Service) VisitorPage(ctx context.Context, v model.VisitorKey, rawURL, title string) error {
	pageURL, ok := cleanPageURL(rawURL)
	if !ok {
		return newError(CodeBadRequest, "url is an http or https URL of at most 4096 characters")
	}
	if !utf8.ValidString(title) || utf8.RuneCountInString(title) > MaxPageTitle {
		return newError(CodeBadRequest, "title is at most 500 characters")
	}
	if !s.pageLimits.allow(v.ID, s.now()) {
		return rateLimited("too many page changes; slow down", time.Second)
	}
	var added bool
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		var err error
		added, err = tx.AddVisitorPage(ctx, v.WorkspaceID, v.ID, model.Page{URL: pageURL, Title: cleanTitle(title), At: s.now()})
		return err
	})
	if err != nil || !added {
		return err
	}
	nv, err := s.db.VisitorByID(ctx, v.ID)
	if err != nil {
		return err
	}
	s.toAgents(nv.WorkspaceID, realtime.VisitorUpdated, nv)
	return nil
}

// VisitorPages lists the last pages of a visitor of the agent's workspace,
// newest first.
func (s *Service) VisitorPages(ctx context.Context, a model.Agent, visitorID string) ([]model.Page, error) {
	if _, err := s.db.Visitor(ctx, a.WorkspaceID, visitorID); err != nil {
		return nil, notFound(err, "visitor")
	}
	return s.db.VisitorPages(ctx, a.WorkspaceID, visitorID)
}

// cleanPageURL accepts an absolute http or https URL of a sensible size,
// without its fragment's surrounding spaces.
func cleanPageURL(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxPageURL || !utf8.ValidString(raw) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return raw, true
}

// cleanTitle keeps a title on one line, without control characters.
func cleanTitle(t string) string {
	t = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, t)
	return strings.Join(strings.Fields(t), " ")
}

// cleanLocale returns the canonical form of a BCP 47 tag ("fr-FR").
func cleanLocale(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 35 {
		return "", false
	}
	tag, err := language.Parse(raw)
	if err != nil || tag == language.Und {
		return "", false
	}
	return tag.String(), true
}

// ParseUserAgent names the browser and the operating system of a
// User-Agent header, with their major versions ("Firefox 128", "Windows
// 10"); empty when it names no browser Parley recognises.
func ParseUserAgent(header string) (browser, os string) {
	if header == "" || len(header) > 1024 {
		return "", ""
	}
	ua := useragent.Parse(header)
	// The parser names an unknown agent by the whole header: that is no
	// browser's name. Nor is an HTTP library's ("Go-http-client/1.1",
	// "curl/8.5.0"), which says nothing of a system or a device, as every
	// browser does.
	if ua.Name == "" || ua.Bot || ua.Name == strings.TrimSpace(header) || !printable(ua.Name) || !printable(ua.OS) ||
		ua.OS == "" && !ua.Desktop && !ua.Mobile && !ua.Tablet {
		return "", ""
	}
	browser = withMajor(ua.Name, ua.Version)
	if ua.OS != "" {
		os = withMajor(ua.OS, ua.OSVersion)
	}
	return browser, os
}

// withMajor is "name major" ("Chrome 126" from 126.0.6478.126); a
// version that is no number ("x86_64") is left out.
func withMajor(name, version string) string {
	major, _, _ := strings.Cut(version, ".")
	if major == "" || major == "0" || strings.Trim(major, "0123456789") != "" {
		return name
	}
	return name + " " + major
}

// printable reports whether s is short, printable ASCII.
func printable(s string) bool {
	if len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// VisitorConversations lists up to limit conversations of a visitor of
// the agent's workspace, the latest activity first.
func (s *Service) VisitorConversations(ctx context.Context, a model.Agent, visitorID string, limit int) ([]model.Conversation, error) {
	return s.db.VisitorConversations(ctx, a.WorkspaceID, visitorID, limit)
}
