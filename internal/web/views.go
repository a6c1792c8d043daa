package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/weblink"
)

// View models of the dashboard's pages, and how they show times (in the
// workspace's time zone), names and links.

// page is the data of every dashboard template.
type page struct {
	// Lang is the page's language (<html lang>); empty: English.
	Lang      string
	Title     string
	Nav       string // "inbox" or "settings": the highlighted header link
	Agent     model.Agent
	Workspace model.Workspace
	CSRF      string
	Path      string // where the status form comes back to
	// Gone: the inbox was reached because the open conversation was
	// erased (with its visitor).
	Gone bool
	// Erased: the inbox was reached after this agent erased a visitor.
	Erased   bool
	Statuses []option
	Error    string

	// Inbox.
	Filter  string
	Filters []option
	View    string
	// Tag is the list's tag filter as asked ("" for none), TagName the
	// tag as the workspace spells it, TagClearHref the list without it.
	Tag, TagName, TagClearHref string
	Views                      []option
	Items                      []convItem
	Current                    string
	Conv                       *convView
	NextCursor                 string
	MoreHref                   string
	Unread                     int
	Assignees                  []model.AssignableAgent
	assignOpts                 *assignOptions // Assignees as the assign menus' options, rendered once a page
	// CompactMenus: the list's assign menus carry their selected option
	// alone, and the agents' options come once (AssignOptions), for
	// dashboard.js to give every menu: a list partial, which only the
	// script fetches, is then a fraction of the bytes with a large team.
	CompactMenus bool
	// Selecting: the list shows its rows' boxes and the bar that changes
	// the selected conversations at once (bulk.go); Bulk is the bar's
	// state, nil before a change.
	Selecting bool
	Bulk      *bulkView
	// SelectHref and SelectDoneHref are this page with the list in
	// selection mode, and without.
	SelectHref, SelectDoneHref string

	Search *searchView
	Report *reportView
	// Responses is the response-times report.
	Responses *responsesView
	Settings  *settingsView
	Erase     *eraseView
	Login     *loginView
	Agents    *agentsView
	Account   *accountView
	Invite    *inviteView
	Notice    *noticeView
	Original  *model.EmailOriginal
	// Waiting counts open conversations whose visitor waits for an answer,
	// shown in a banner while the agent is offline or invisible.
	Waiting int
}

type option struct {
	Value, Label string
	On           bool // selected / checked / current
	Href         string
	Count        int
}

type convItem struct {
	ID, Href, Name, Preview, Channel, Status string
	AssigneeID, AssigneeName                 string
	Unread                                   int
	Active, Online, Mine                     bool
	// Waiting: the visitor waits for an answer (no agent replied after
	// their newest message), read or not.
	Waiting bool
	// Tags are the first tags of the conversation; MoreTags names the
	// others, MoreTagCount counts them.
	Tags         []tagChip
	MoreTags     string
	MoreTagCount int
	Time         stamp
	Ago          string
}

type convView struct {
	ID, Name, Channel, Status string
	Assignee                  *model.Assignee
	Visitor                   model.Visitor
	Messages                  []msgView
	// OlderHref and NewerHref open the pages of messages before and after
	// those shown ("" when there are none).
	OlderHref, NewerHref    string
	Presence, PresenceClass string
	LastActive, LeftAt      *stamp
	EmailStatus             string
	// EmailStatusNote says why the address gets no email (or since when it
	// does again), and how that ends.
	EmailStatusNote       string
	NameInput, EmailInput string
	VisitorError          string
	ReplyBody, ReplyError string
	// Tags are the conversation's tags; TagInput and TagError a refused
	// tag and why; TagSuggestions the workspace's tags in use.
	Tags               []tagChip
	TagInput, TagError string
	TagSuggestions     []string
	// Forwarding is the forwarding engine's last word on this conversation;
	// ForwardingZone the time zone of the times its reason writes (the
	// workspace's), "" when it writes none.
	Forwarding     *model.Forwarding
	ForwardingZone string
	// Window is the Messenger/Instagram messaging window (nil on the website).
	Window *chat.Window
	// Context is what the widget told about the visitor (visitor_context.go).
	Context *contextView
}

type msgView struct {
	ID, Kind, AuthorKind, Class, Author, Via string
	// Avatar is the picture or initials of an agent author.
	Avatar    *avatarView
	Delivery  *model.ChannelDelivery
	Body      []bodyPart
	Time      stamp
	Forwarded *model.Forwarded
	Seen      *stamp
	Files     []fileView
	// Original links to the whole text of an email answer; MayHoldQuote
	// flags one whose text may still hold the quoted thread.
	Original     string
	MayHoldQuote bool
	// Undo is the address an "email saved from the conversation" event
	// recorded, while it is still the visitor's email.
	Undo string
	// Offer is an address in a visitor's widget message that is not the
	// visitor's email: the agent can make it theirs in one click.
	Offer string
}

// fileView is a file of a message: an image shown inline as a thumbnail,
// anything else a download link.
type fileView struct {
	Name, URL, Size string
	Image           bool
}

func filesView(files []model.Attachment) []fileView {
	var out []fileView
	for _, a := range files {
		out = append(out, fileView{Name: a.Filename, URL: "/api/v1/attachments/" + a.ID, Size: sizeLabel(a.Size), Image: isImage(a.ContentType)})
	}
	return out
}

func sizeLabel(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// stamp is a time as the dashboard shows it, in the workspace's time zone.
type stamp struct{ Short, Full, ISO string }

type bodyPart struct{ Text, URL string }

var statusLabels = []option{
	{Value: model.StatusOnline, Label: "Online"},
	{Value: model.StatusInvisible, Label: "Invisible"},
	{Value: model.StatusOffline, Label: "Offline"},
}

// fillChrome sets what every logged-in page shows: the header with the
// status switch, and the CSRF token.
func (s *Server) fillChrome(ctx context.Context, r *http.Request, p *page, sess *session) {
	p.Agent = sess.agent
	p.CSRF = sess.csrf
	p.Path = r.URL.RequestURI()
	if r.Method != http.MethodGet || strings.HasPrefix(r.URL.Path, "/dashboard/partials/") {
		p.Path = "/dashboard"
	}
	for _, o := range statusLabels {
		o.On = o.Value == sess.agent.Status
		p.Statuses = append(p.Statuses, o)
	}
	if sess.agent.Status != model.StatusOnline {
		// Offline or invisible: say so while visitors wait.
		if n, err := s.svc.Waiting(ctx, sess.agent); err == nil {
			p.Waiting = n
		} else {
			s.log.Error("count waiting conversations", "agent", sess.agent.ID, "err", err)
		}
	}
	if p.Workspace.ID == "" {
		if ws, err := s.svc.Workspace(ctx, sess.agent.WorkspaceID); err == nil {
			p.Workspace = ws
		}
	}
	// The agents who can be assigned, for every page's header: the
	// dashboard's script reads notes' mentions with their names, whether
	// or not the page has an assign menu (fillList uses them too). Not for
	// the fragments the script asks for, which have no header.
	if !strings.HasPrefix(r.URL.Path, "/dashboard/partials/") {
		var err error
		if p.Assignees, err = s.svc.Assignees(ctx, sess.agent); err != nil {
			s.log.Error("list colleagues", "agent", sess.agent.ID, "err", err)
		}
	}
}

// clock formats times in one workspace's time zone.
type clock struct {
	loc *time.Location
	now time.Time
}

func newClock(loc *time.Location) clock {
	return clock{loc: loc, now: time.Now().In(loc)}
}

func (c clock) stamp(t time.Time) stamp {
	lt := t.In(c.loc)
	short := lt.Format("15:04")
	switch {
	case sameDay(lt, c.now):
	case lt.Year() == c.now.Year():
		short = lt.Format("Jan 2, 15:04")
	default:
		short = lt.Format("Jan 2 2006, 15:04")
	}
	return stamp{Short: short, Full: lt.Format("Mon, 2 Jan 2006 15:04:05 MST"), ISO: t.UTC().Format(time.RFC3339)}
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// ago is the short relative time of the conversation list.
func (c clock) ago(t time.Time) string {
	d := c.now.Sub(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	default:
		return t.In(c.loc).Format("Jan 2")
	}
}

// visitorName is how the dashboard names a visitor: name, email, or a short
// stable label from the id.
func visitorName(v model.Visitor) string {
	if v.Name != nil && strings.TrimSpace(*v.Name) != "" {
		return *v.Name
	}
	if v.HasEmail() {
		return *v.Email
	}
	return model.VisitorLabel(v.ID)
}

// linkify splits a message body into text and http(s) links; the template
// escapes both.
func linkify(body string) []bodyPart {
	var parts []bodyPart
	i := 0
	for _, loc := range weblink.Find(body) {
		start, end := loc[0], loc[1]
		if start < i {
			continue
		}
		u := body[start:end]
		if _, err := url.Parse(u); err != nil {
			continue
		}
		if start > i {
			parts = append(parts, bodyPart{Text: body[i:start]})
		}
		parts = append(parts, bodyPart{Text: u, URL: u})
		i = start + len(u)
	}
	if i < len(body) {
		parts = append(parts, bodyPart{Text: body[i:]})
	}
	return parts
}

// emailStatusNote explains the email status of the visitor's address, which
// every visitor of the workspace with that address shares.
func emailStatusNote(v model.Visitor, c clock) string {
	var b strings.Builder
	switch {
	case v.EmailStatus == model.EmailUnsubscribed && v.EmailStatusSource == model.EmailStatusByUnsubscribe:
		b.WriteString("Unsubscribed with the link of a forwarded email")
	case v.EmailStatus == model.EmailUnsubscribed:
		b.WriteString("Unsubscribed")
	case v.EmailStatus == model.EmailBouncing:
		b.WriteString("Emails to this address bounced")
		if v.EmailStatusDetail != "" {
			b.WriteString(" (" + v.EmailStatusDetail + ")")
		}
	case v.EmailStatusSource == model.EmailStatusByOptIn:
		b.WriteString("The visitor opted in again in the contact form")
	default:
		return ""
	}
	if at := v.EmailStatusChangedAt; at != nil {
		b.WriteString(" on " + at.In(c.loc).Format("2 Jan 2006 15:04 MST"))
	}
	b.WriteString(".")
	if v.EmailStatus != model.EmailOK {
		b.WriteString(" No email goes to this address from any conversation until the visitor ticks the opt-in box of the chat's contact form.")
	}
	return b.String()
}

// clockTime finds a time of day ("10:42") in a text.
var clockTime = regexp.MustCompile(`\b\d\d:\d\d\b`)

// conversationView builds the right-hand side: messages and visitor panel.
// find returns the address a visitor's message holds (chat's
// EmailInMessage).
func conversationView(cv model.Conversation, msgs []model.Message, c clock, find func(model.Visitor, string) string) *convView {
	v := cv.Visitor
	view := &convView{ID: cv.ID, Name: visitorName(v), Channel: cv.Channel, Status: cv.Status, Visitor: v, Assignee: cv.Assignee,
		EmailStatus: v.EmailStatus, EmailStatusNote: emailStatusNote(v, c), Forwarding: cv.Forwarding}
	if f := cv.Forwarding; f != nil && clockTime.MatchString(f.Reason) {
		view.ForwardingZone = c.loc.String()
	}
	if v.Name != nil {
		view.NameInput = *v.Name
	}
	if v.Email != nil {
		view.EmailInput = *v.Email
	}
	switch {
	case v.Online:
		view.Presence, view.PresenceClass = "Online", "online"
	case v.LeftAt != nil:
		st := c.stamp(*v.LeftAt)
		view.Presence, view.PresenceClass, view.LeftAt = "Left at", "left", &st
	default:
		view.Presence, view.PresenceClass = "Offline", "offline"
	}
	if v.LastActiveAt != nil {
		st := c.stamp(*v.LastActiveAt)
		view.LastActive = &st
	}
	for _, m := range msgs {
		mv := msgView{ID: m.ID, Kind: m.Kind, AuthorKind: m.Author.Kind, Body: linkify(m.Body),
			Time: c.stamp(m.CreatedAt), Forwarded: m.Forwarded, Files: filesView(m.Attachments)}
		switch {
		case m.Kind == model.KindEvent:
			mv.Class = "event"
		case m.Kind == model.KindComment:
			mv.Class = "comment"
		case m.Author.Kind == model.AuthorVisitor:
			mv.Class = "visitor"
		default:
			mv.Class = "agent"
		}
		switch m.Author.Kind {
		case model.AuthorVisitor:
			mv.Author = view.Name
		case model.AuthorAgent:
			mv.Author = "Agent"
			if m.Author.Name != nil && *m.Author.Name != "" {
				mv.Author = *m.Author.Name
			}
			mv.Avatar = newAvatarView(mv.Author, m.Author.AvatarURL)
		default:
			mv.Author = "Parley"
		}
		if m.Author.Kind == model.AuthorVisitor && m.Channel != model.MsgChannelWidget {
			mv.Via = m.Channel // email, messenger, instagram
		}
		if m.Author.Kind == model.AuthorVisitor && m.Channel == model.MsgChannelEmail {
			mv.Original = "/dashboard/conversations/" + url.PathEscape(m.ConversationID) + "/messages/" + url.PathEscape(m.ID) + "/original"
			mv.MayHoldQuote = m.MayHoldQuote
		}
		if addr, ok := chat.SavedEmailOf(m); ok && v.Email != nil && *v.Email == addr &&
			v.EmailSource != nil && *v.EmailSource == model.EmailFromConversation {
			mv.Undo = addr
		}
		if m.Author.Kind == model.AuthorVisitor && m.Channel == model.MsgChannelWidget && m.Kind == model.KindReply && cv.Channel == model.ChannelWebsite {
			if addr := find(v, m.Body); addr != "" && (v.Email == nil || !strings.EqualFold(*v.Email, addr)) {
				mv.Offer = addr
			}
		}
		if m.Author.Kind == model.AuthorAgent && m.Kind == model.KindReply {
			mv.Delivery = m.Delivery
		}
		if m.ReadByVisitorAt != nil && m.Author.Kind == model.AuthorAgent && m.Kind == model.KindReply {
			st := c.stamp(*m.ReadByVisitorAt)
			mv.Seen = &st
		}
		view.Messages = append(view.Messages, mv)
	}
	return view
}

// pageLinks sets the links to the messages before and after a page.
func (v *convView) pageLinks(page chat.MessagePage, st listState) {
	if len(page.Messages) == 0 {
		return
	}
	href := conversationHref(v.ID, st)
	if page.Older {
		v.OlderHref = withQuery(href, "before="+url.QueryEscape(page.Messages[0].ID))
	}
	if page.Newer {
		v.NewerHref = withQuery(href, "after="+url.QueryEscape(page.Messages[len(page.Messages)-1].ID))
	}
}

// withQuery adds query (already encoded: "a=1&b=2") to href's own.
func withQuery(href, query string) string {
	if strings.Contains(href, "?") {
		return href + "&" + query
	}
	return href + "?" + query
}
