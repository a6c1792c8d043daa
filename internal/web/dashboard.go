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
	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/model"
)

func (s *Server) dashboardRoutes() {
	m := s.mux
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	})
	m.HandleFunc("GET /dashboard/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	})
	m.HandleFunc("GET /dashboard/static/{file}", s.dashStatic)
	m.HandleFunc("GET /dashboard/login", s.dashLoginPage)
	m.HandleFunc("POST /dashboard/login", s.dashLogin)
	m.HandleFunc("POST /dashboard/logout", s.dash(s.dashLogout))

	m.HandleFunc("GET /dashboard", s.dash(s.dashInbox))
	m.HandleFunc("GET /dashboard/conversations/{id}", s.dash(s.dashConversation))
	m.HandleFunc("POST /dashboard/conversations/{id}/messages", s.dash(s.dashPostMessage))
	m.HandleFunc("POST /dashboard/conversations/{id}/close", s.dash(s.dashClose))
	m.HandleFunc("POST /dashboard/conversations/{id}/reopen", s.dash(s.dashReopen))
	m.HandleFunc("POST /dashboard/visitors/{id}", s.dash(s.dashUpdateVisitor))
	m.HandleFunc("POST /dashboard/status", s.dash(s.dashStatus))
	m.HandleFunc("GET /dashboard/settings", s.dash(s.dashSettings))
	m.HandleFunc("POST /dashboard/settings", s.dash(s.dashSaveSettings))

	m.HandleFunc("GET /dashboard/partials/list", s.dashPartial(s.dashListPartial))
	m.HandleFunc("GET /dashboard/partials/conversation/{id}", s.dashPartial(s.dashConversationPartial))
}

// ---- authentication, CSRF, rendering ----------------------------------------

// ---- page data ----------------------------------------------------------------

// page is the data of every dashboard template.
type page struct {
	Title     string
	Nav       string // "inbox" or "settings": the highlighted header link
	Agent     model.Agent
	Workspace model.Workspace
	CSRF      string
	Path      string // where the status form comes back to
	Statuses  []option
	Error     string

	// Inbox.
	Filter  string
	Filters []option
	Items   []convItem
	Current string
	Conv    *convView

	Settings *settingsView
	Login    *loginView
}

type option struct {
	Value, Label string
	On           bool // selected / checked / current
	Href         string
}

type convItem struct {
	ID, Href, Name, Preview, Channel, Status string
	Unread                                   int
	Active, Online                           bool
	Time                                     stamp
	Ago                                      string
}

type convView struct {
	ID, Name, Channel, Status string
	Visitor                   model.Visitor
	Messages                  []msgView
	Presence, PresenceClass   string
	LastActive                string
	EmailStatus               string
	NameInput, EmailInput     string
	VisitorError              string
	ReplyBody, ReplyError     string
	// Forwarding is the forwarding engine's last word on this conversation.
	Forwarding *model.Forwarding
	// Window is the Messenger/Instagram messaging window (nil on the website).
	Window *chat.Window
}

type msgView struct {
	ID, Kind, AuthorKind, Class, Author, Via string
	Delivery                                 *model.ChannelDelivery
	Body                                     []bodyPart
	Time                                     stamp
	Forwarded                                *model.Forwarded
	Seen                                     *stamp
}

// stamp is a time as the dashboard shows it, in the workspace's time zone.
type stamp struct{ Short, Full, ISO string }

type bodyPart struct{ Text, URL string }

type settingsView struct {
	Forwarding          []option
	OfflineRequiresForm bool
	Online              []option
	Snippet             string
	DemoURL             string
	Saved               bool
	// Previews of the email each sending mode produces (text part).
	Previews []emailPreview
}

type emailPreview struct{ Label, Subject, From, Text string }

type loginView struct{ Email string }

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
	if p.Workspace.ID == "" {
		if ws, err := s.svc.Workspace(ctx, sess.agent.WorkspaceID); err == nil {
			p.Workspace = ws
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
	id := v.ID
	if len(id) > 4 {
		id = id[len(id)-4:]
	}
	return "Visitor " + id
}

func filterOf(r *http.Request) string {
	switch f := r.URL.Query().Get("status"); f {
	case "open", "closed", "all":
		return f
	}
	if f := r.PostFormValue("filter"); f == "closed" || f == "all" {
		return f
	}
	return "open"
}

func conversationHref(id, filter string) string {
	h := "/dashboard/conversations/" + url.PathEscape(id)
	if filter != "open" {
		h += "?status=" + filter
	}
	return h
}

// fillList loads the conversation list of the agent's workspace.
func (s *Server) fillList(ctx context.Context, p *page, sess *session, filter, current string, c clock) error {
	convs, err := s.svc.Conversations(ctx, sess.agent, filter)
	if err != nil {
		return err
	}
	p.Filter, p.Current = filter, current
	for _, f := range []option{{Value: "open", Label: "Open"}, {Value: "closed", Label: "Closed"}, {Value: "all", Label: "All"}} {
		f.On = f.Value == filter
		f.Href = "/dashboard?status=" + f.Value
		if current != "" {
			f.Href = conversationHref(current, "open") + "?status=" + f.Value
		}
		p.Filters = append(p.Filters, f)
	}
	p.Items = make([]convItem, 0, len(convs))
	for _, cv := range convs {
		it := convItem{ID: cv.ID, Href: conversationHref(cv.ID, filter), Name: visitorName(cv.Visitor),
			Channel: cv.Channel, Status: cv.Status, Unread: cv.Unread, Active: cv.ID == current,
			Online: cv.Visitor.Online, Time: c.stamp(cv.LastMessageAt), Ago: c.ago(cv.LastMessageAt)}
		if cv.LastMessage != nil {
			it.Preview = *cv.LastMessage
		}
		p.Items = append(p.Items, it)
	}
	return nil
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify splits a message body into text and http(s) links; the template
// escapes both.
func linkify(body string) []bodyPart {
	var parts []bodyPart
	i := 0
	for _, loc := range urlPattern.FindAllStringIndex(body, -1) {
		start, end := loc[0], loc[1]
		if start < i {
			continue
		}
		u := strings.TrimRight(body[start:end], ".,;:!?)]'}")
		if _, err := url.Parse(u); err != nil || len(u) <= len("https://") {
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

// conversationView builds the right-hand side: messages and visitor panel.
func conversationView(cv model.Conversation, msgs []model.Message, c clock) *convView {
	v := cv.Visitor
	view := &convView{ID: cv.ID, Name: visitorName(v), Channel: cv.Channel, Status: cv.Status, Visitor: v,
		EmailStatus: v.EmailStatus, Forwarding: cv.Forwarding}
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
		view.Presence, view.PresenceClass = "Left at "+c.stamp(*v.LeftAt).Short, "left"
	default:
		view.Presence, view.PresenceClass = "Offline", "offline"
	}
	if v.LastActiveAt != nil {
		view.LastActive = c.stamp(*v.LastActiveAt).Short
	}
	for _, m := range msgs {
		mv := msgView{ID: m.ID, Kind: m.Kind, AuthorKind: m.Author.Kind, Body: linkify(m.Body),
			Time: c.stamp(m.CreatedAt), Forwarded: m.Forwarded}
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
		default:
			mv.Author = "Parley"
		}
		if m.Author.Kind == model.AuthorVisitor && m.Channel != model.MsgChannelWidget {
			mv.Via = m.Channel // email, messenger, instagram
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

// ---- login and logout -----------------------------------------------------------

// ---- conversations --------------------------------------------------------------

func (s *Server) dashInbox(w http.ResponseWriter, r *http.Request, sess *session) {
	p := &page{Title: "Conversations", Nav: "inbox"}
	s.fillChrome(r.Context(), r, p, sess)
	if err := s.fillList(r.Context(), p, sess, filterOf(r), "", newClock(p.Workspace.Location())); err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	s.render(w, http.StatusOK, "inbox", p)
}

func (s *Server) dashConversation(w http.ResponseWriter, r *http.Request, sess *session) {
	// Opening a conversation is seeing it.
	cv, err := s.svc.MarkSeenByAgent(r.Context(), sess.agent, r.PathValue("id"))
	if err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	s.conversationPage(w, r, sess, http.StatusOK, cv, nil)
}

// conversationPage renders the inbox with a conversation open; edit, when
// not nil, adjusts the view (a refused form shown again with its input).
func (s *Server) conversationPage(w http.ResponseWriter, r *http.Request, sess *session, status int, cv model.Conversation, edit func(*convView)) {
	ctx := r.Context()
	p := &page{Title: visitorName(cv.Visitor), Nav: "inbox"}
	s.fillChrome(ctx, r, p, sess)
	c := newClock(p.Workspace.Location())
	msgs, err := s.svc.Messages(ctx, sess.agent, cv.ID)
	if err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	if err := s.fillList(ctx, p, sess, filterOf(r), cv.ID, c); err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	p.Conv = conversationView(cv, msgs, c)
	p.Conv.Window = s.channelWindow(ctx, sess, cv)
	if edit != nil {
		edit(p.Conv)
	}
	s.render(w, status, "inbox", p)
}

func (s *Server) dashPostMessage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	// Browsers send a textarea's line breaks as CRLF.
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	kind := r.PostFormValue("kind")
	var err error
	if tag := r.PostFormValue("tag"); tag != "" && kind == model.KindReply {
		// Outside Messenger's 24-hour window, with the human agent tag.
		_, err = s.svc.PostChannelReply(r.Context(), sess.agent, id, body, tag)
	} else {
		_, err = s.svc.PostMessage(r.Context(), sess.agent, id, body, kind)
	}
	if err != nil {
		s.refuseOnConversation(w, r, sess, id, err, func(v *convView) {
			v.ReplyBody, v.ReplyError = body, sentence(domainMessage(err))
		})
		return
	}
	http.Redirect(w, r, conversationHref(id, filterOf(r)), http.StatusSeeOther)
}

// refuseOnConversation shows the conversation again with the error of a
// refused form (a domain error), or fails the request.
func (s *Server) refuseOnConversation(w http.ResponseWriter, r *http.Request, sess *session, convID string, err error, edit func(*convView)) {
	code := chat.ErrorCode(err)
	if code == "" || code == chat.CodeNotFound {
		s.dashFail(w, r, sess, err)
		return
	}
	cv, cerr := s.svc.Conversation(r.Context(), sess.agent, convID)
	if cerr != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	s.conversationPage(w, r, sess, statusOf(code), cv, edit)
}

func (s *Server) dashClose(w http.ResponseWriter, r *http.Request, sess *session) {
	s.dashSetConversationStatus(w, r, sess, "closed")
}

func (s *Server) dashReopen(w http.ResponseWriter, r *http.Request, sess *session) {
	s.dashSetConversationStatus(w, r, sess, "open")
}

func (s *Server) dashSetConversationStatus(w http.ResponseWriter, r *http.Request, sess *session, status string) {
	id := r.PathValue("id")
	if _, err := s.svc.SetConversationStatus(r.Context(), sess.agent, id, status); err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, conversationHref(id, filterOf(r)), http.StatusSeeOther)
}

func (s *Server) dashUpdateVisitor(w http.ResponseWriter, r *http.Request, sess *session) {
	var email, name *string
	if v, ok := r.PostForm["email"]; ok && len(v) > 0 {
		email = &v[len(v)-1]
	}
	if v, ok := r.PostForm["name"]; ok && len(v) > 0 {
		name = &v[len(v)-1]
	}
	convID := r.PostFormValue("conversation")
	_, err := s.svc.UpdateVisitor(r.Context(), sess.agent, r.PathValue("id"), chat.NewVisitorPatch(email, name))
	if err != nil {
		if convID == "" {
			s.dashFail(w, r, sess, err)
			return
		}
		s.refuseOnConversation(w, r, sess, convID, err, func(v *convView) {
			if email != nil {
				v.EmailInput = *email
			}
			if name != nil {
				v.NameInput = *name
			}
			v.VisitorError = sentence(domainMessage(err))
		})
		return
	}
	if convID == "" {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, conversationHref(convID, filterOf(r)), http.StatusSeeOther)
}

// ---- status ------------------------------------------------------------------------

func (s *Server) dashStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.svc.SetAgentStatus(r.Context(), sess.agent, r.PostFormValue("status")); err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// localPath keeps a redirect target on the dashboard (no open redirect).
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(u.Path, "/dashboard") || strings.Contains(next, "\\") || strings.HasPrefix(next, "//") {
		return "/dashboard"
	}
	return u.RequestURI()
}

// ---- settings ----------------------------------------------------------------------

var forwardingLabels = []option{
	{Value: model.ForwardOff, Label: "Do not send anything"},
	{Value: model.ForwardUnread, Label: "Email unread replies to visitors (recommended)"},
	{Value: model.ForwardTranscript, Label: "Email full conversation transcripts to visitors"},
}

var onlineFormLabels = []option{
	{Value: "off", Label: "Off"},
	{Value: "optional", Label: "Optional"},
	{Value: "required", Label: "Required"},
}

func (s *Server) dashSettings(w http.ResponseWriter, r *http.Request, sess *session) {
	st, err := s.svc.Settings(r.Context(), sess.agent.WorkspaceID)
	if err != nil {
		s.dashFail(w, r, sess, err)
		return
	}
	s.settingsPage(w, r, sess, http.StatusOK, st, "", r.URL.Query().Get("saved") == "1")
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, st model.Settings, errMsg string, saved bool) {
	p := &page{Title: "Settings", Nav: "settings", Error: errMsg}
	s.fillChrome(r.Context(), r, p, sess)
	sv := &settingsView{OfflineRequiresForm: st.ContactForm.OfflineRequiresForm, Saved: saved}
	for _, o := range forwardingLabels {
		o.On = o.Value == st.EmailForwarding
		sv.Forwarding = append(sv.Forwarding, o)
	}
	for _, o := range onlineFormLabels {
		o.On = o.Value == st.ContactForm.Online
		sv.Online = append(sv.Online, o)
	}
	sv.Snippet = fmt.Sprintf(`<script src="%s/widget.js" data-site-key="%s" async></script>`, s.opts.PublicURL, p.Workspace.SiteKey)
	sv.DemoURL = "/demo?site_key=" + url.QueryEscape(p.Workspace.SiteKey)
	loc := p.Workspace.Location()
	for _, o := range forwardingLabels {
		if o.Value == model.ForwardOff {
			continue
		}
		e, err := forward.Preview(forward.Mode(o.Value), p.Workspace.Name, loc, time.Now())
		if err != nil {
			s.log.Error("email preview", "mode", o.Value, "err", err)
			continue
		}
		sv.Previews = append(sv.Previews, emailPreview{Label: o.Label, Subject: e.Subject, From: e.From, Text: e.Text})
	}
	p.Settings = sv
	s.render(w, status, "settings", p)
}

// settingsPatch reads the fields a settings form sent. A checkbox sends
// nothing when unchecked, so the form puts a hidden "0" before it and the
// last value wins.
func settingsPatch(form url.Values) chat.SettingsPatch {
	last := func(name string) (string, bool) {
		v, ok := form[name]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[len(v)-1], true
	}
	var p chat.SettingsPatch
	if v, ok := last("email_forwarding"); ok {
		p.EmailForwarding = &v
	}
	var cf chat.ContactFormPatch
	if v, ok := last("offline_requires_form"); ok {
		b := v == "1" || v == "on" || v == "true"
		cf.OfflineRequiresForm = &b
	}
	if v, ok := last("online"); ok {
		cf.Online = &v
	}
	if cf.OfflineRequiresForm != nil || cf.Online != nil {
		p.ContactForm = &cf
	}
	return p
}

func (s *Server) dashSaveSettings(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.svc.UpdateSettings(r.Context(), sess.agent.WorkspaceID, settingsPatch(r.PostForm)); err != nil {
		if chat.ErrorCode(err) == "" {
			s.dashFail(w, r, sess, err)
			return
		}
		cur, cerr := s.svc.Settings(r.Context(), sess.agent.WorkspaceID)
		if cerr != nil {
			s.dashFail(w, r, sess, cerr)
			return
		}
		s.settingsPage(w, r, sess, statusOf(chat.ErrorCode(err)), cur, sentence(domainMessage(err)), false)
		return
	}
	http.Redirect(w, r, "/dashboard/settings?saved=1", http.StatusSeeOther)
}

// ---- partials for live updates -------------------------------------------------------

func (s *Server) dashListPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	p := &page{}
	s.fillChrome(r.Context(), r, p, sess)
	if err := s.fillList(r.Context(), p, sess, filterOf(r), r.URL.Query().Get("c"), newClock(p.Workspace.Location())); err != nil {
		s.partialFail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "list", p)
}

func (s *Server) dashConversationPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	cv, err := s.svc.Conversation(ctx, sess.agent, r.PathValue("id"))
	if err != nil {
		s.partialFail(w, r, err)
		return
	}
	msgs, err := s.svc.Messages(ctx, sess.agent, cv.ID)
	if err != nil {
		s.partialFail(w, r, err)
		return
	}
	p := &page{}
	s.fillChrome(ctx, r, p, sess)
	p.Filter = filterOf(r)
	p.Conv = conversationView(cv, msgs, newClock(p.Workspace.Location()))
	p.Conv.Window = s.channelWindow(ctx, sess, cv)
	s.render(w, http.StatusOK, "conversation-partial", p)
}

// channelWindow returns the messaging window of a Messenger or Instagram
// conversation, so agents are told before sending; nil otherwise.
func (s *Server) channelWindow(ctx context.Context, sess *session, cv model.Conversation) *chat.Window {
	if !chat.IsChannel(cv.Channel) {
		return nil
	}
	w, err := s.svc.ChannelWindow(ctx, sess.agent, cv.ID)
	if err != nil {
		s.log.Warn("read messaging window", "conversation", cv.ID, "err", err)
		return nil
	}
	return &w
}
