package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/contrast"
	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/mail/maildns"
	"github.com/parleychat/parley/internal/model"
)

// Settings: email forwarding, the contact form, the widget snippet and a
// preview of the email each sending mode produces.

type settingsView struct {
	Forwarding          []option
	OfflineRequiresForm bool
	Online              []option
	Snippet             string
	DemoURL             string
	Saved               bool
	WorkspaceName       string
	TimeZone            string
	// TimeZones are suggestions for the time zone field.
	TimeZones     []string
	RetentionDays int
	// Previews of the email each sending mode produces (text part).
	Previews []emailPreview
	// IdentityVerification is the setting; IdentitySecret and
	// IdentityExamples are shown to admins only.
	IdentityVerification bool
	// TypingPreview: agents see visitors' drafts as they type.
	TypingPreview bool
	// AutoAssign: new conversations go to the least busy online agent.
	AutoAssign bool
	// AutoAssignLimit: open conversations an agent is given at most (0:
	// no limit).
	AutoAssignLimit  int
	IdentitySecret   string
	IdentityExamples []identityExample
	// Email is Settings → Email: the DNS records to publish or check.
	Email *maildns.Setup
	// Widget is the widget's look; OnColor the text colour on it, and the
	// default words shown in English where the workspace wrote none.
	Widget                       model.WidgetLook
	OnColor                      string
	DefaultGreeting, DefaultAway string
	Locales                      []option
	// DefaultName is set while the workspace is still named "Default",
	// which becomes the sender name and the subject of forwarded emails.
	DefaultName bool
}

type emailPreview struct{ Label, Subject, From, Text, HTML string }

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
		s.failPage(w, r, sess, err)
		return
	}
	s.settingsPage(w, r, sess, http.StatusOK, st, "", r.URL.Query().Get("saved") == "1")
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, st model.Settings, errMsg string, saved bool) {
	p := &page{Title: "Settings", Nav: "settings", Error: errMsg}
	s.fillChrome(r.Context(), r, p, sess)
	sv := &settingsView{OfflineRequiresForm: st.ContactForm.OfflineRequiresForm, Saved: saved,
		WorkspaceName: st.WorkspaceName, TimeZone: st.TimeZone, TimeZones: commonTimeZones,
		RetentionDays: st.RetentionDays}
	for _, o := range forwardingLabels {
		o.On = o.Value == st.EmailForwarding
		sv.Forwarding = append(sv.Forwarding, o)
	}
	for _, o := range onlineFormLabels {
		o.On = o.Value == st.ContactForm.Online
		sv.Online = append(sv.Online, o)
	}
	sv.IdentityVerification = st.IdentityVerification
	sv.TypingPreview = st.TypingPreview
	sv.AutoAssign, sv.AutoAssignLimit = st.AutoAssign, st.AutoAssignLimit
	sv.Widget, sv.OnColor = st.Widget, contrast.TextOn(st.Widget.Color)
	en := i18n.For("en")
	sv.DefaultGreeting, sv.DefaultAway = en.T("widget.greeting"), en.T("widget.away")
	for _, l := range i18n.Languages {
		sv.Locales = append(sv.Locales, option{Value: l, Label: localeNames[l], On: l == st.DefaultLocale})
	}
	if sess.agent.IsAdmin() {
		secret, err := s.svc.IdentitySecret(r.Context(), sess.agent)
		if err != nil {
			s.failPage(w, r, sess, err)
			return
		}
		sv.IdentitySecret = secret
		sv.IdentityExamples = identityExamples(secret)
	}
	sv.Snippet = fmt.Sprintf(`<script src="%s/widget.js" data-site-key="%s" async></script>`, s.opts.PublicURL, p.Workspace.SiteKey)
	sv.DemoURL = "/demo?site_key=" + url.QueryEscape(p.Workspace.SiteKey)
	sv.Email = s.opts.MailDNS
	sv.DefaultName = strings.EqualFold(strings.TrimSpace(p.Workspace.Name), "Default")
	for _, o := range forwardingLabels {
		if o.Value == model.ForwardOff {
			continue
		}
		e, err := s.svc.PreviewEmail(p.Workspace, o.Value)
		if err != nil {
			s.log.Error("email preview", "mode", o.Value, "err", err)
			continue
		}
		sv.Previews = append(sv.Previews, emailPreview{Label: o.Label, Subject: e.Subject, From: e.From, Text: e.Text, HTML: e.HTML})
	}
	p.Settings = sv
	// The email previews are sandboxed srcdoc frames, which inherit this
	// page's policy: their inline styles must apply for the preview to look
	// as the visitor's mail client shows it. Scripts stay forbidden (and
	// the sandbox forbids them in the frames too).
	w.Header().Set("Content-Security-Policy", strings.Replace(dashboardCSP, "style-src 'self'", "style-src 'self' 'unsafe-inline'", 1))
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
	// box is a checkbox's value (after its hidden "0"), nil when the form
	// has no such box.
	box := func(name string) *bool {
		v, ok := last(name)
		if !ok {
			return nil
		}
		b := v == "1" || v == "on" || v == "true"
		return &b
	}
	var p chat.SettingsPatch
	if v, ok := last("workspace_name"); ok {
		p.WorkspaceName = &v
	}
	if v, ok := last("time_zone"); ok {
		p.TimeZone = &v
	}
	if v, ok := last("email_forwarding"); ok {
		p.EmailForwarding = &v
	}
	p.IdentityVerification, p.TypingPreview, p.AutoAssign = box("identity_verification"), box("typing_preview"), box("auto_assign")
	cf := chat.ContactFormPatch{OfflineRequiresForm: box("offline_requires_form")}
	if v, ok := last("online"); ok {
		cf.Online = &v
	}
	if cf.OfflineRequiresForm != nil || cf.Online != nil {
		p.ContactForm = &cf
	}
	var wp chat.WidgetPatch
	for name, dst := range map[string]**string{"widget_color": &wp.Color, "widget_position": &wp.Position,
		"widget_greeting": &wp.Greeting, "widget_away_message": &wp.AwayMessage} {
		if v, ok := last(name); ok {
			*dst = &v
		}
	}
	if wp != (chat.WidgetPatch{}) {
		p.Widget = &wp
	}
	if v, ok := last("default_locale"); ok {
		p.DefaultLocale = &v
	}
	// number is a number field's value, nil when the form has none; one
	// that is not a number (empty too) is -1, refused as a negative one
	// is, with the same words.
	number := func(name string) *int {
		v, ok := last(name)
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			n = -1
		}
		return &n
	}
	p.RetentionDays, p.AutoAssignLimit = number("retention_days"), number("auto_assign_limit")
	return p
}

func (s *Server) dashSaveSettings(w http.ResponseWriter, r *http.Request, sess *session) {
	patch := settingsPatch(r.PostForm)
	if _, err := s.svc.UpdateSettingsAs(r.Context(), sess.agent, patch); err != nil {
		a := answerOf(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		cur, cerr := s.svc.Settings(r.Context(), sess.agent.WorkspaceID)
		if cerr != nil {
			s.failPage(w, r, sess, cerr)
			return
		}
		msg := a.text()
		if a.Status != http.StatusForbidden {
			msg = settingsRefusal(a.Message)
		}
		s.settingsPage(w, r, sess, a.Status, typedSettings(cur, patch), msg, false)
		return
	}
	http.Redirect(w, r, "/dashboard/settings?saved=1"+settingsSection(r.PostFormValue("section")), http.StatusSeeOther)
}

// typedSettings is cur with what a refused form's fields held that the
// admin types (nothing was saved): the page shows them again beside the
// error, to be corrected rather than typed again.
func typedSettings(cur model.Settings, p chat.SettingsPatch) model.Settings {
	keep := func(shown *string, typed *string) {
		if typed != nil {
			*shown = *typed
		}
	}
	keep(&cur.WorkspaceName, p.WorkspaceName)
	keep(&cur.TimeZone, p.TimeZone)
	if w := p.Widget; w != nil {
		keep(&cur.Widget.Greeting, w.Greeting)
		keep(&cur.Widget.AwayMessage, w.AwayMessage)
	}
	if p.RetentionDays != nil && *p.RetentionDays >= 0 {
		cur.RetentionDays = *p.RetentionDays
	}
	return cur
}

// settingsFields are the settings' names in the API's refusals, as the
// settings page labels them.
var settingsFields = []struct{ name, label string }{
	{"time_zone", "the time zone"},
	{"retention_days", "the number of days to keep closed conversations"},
	{"email_forwarding", "email forwarding"},
	{"contact_form.online", "the pre-chat form while agents are online"},
	{"widget.color", "the widget's colour"},
	{"widget.position", "the widget's side"},
	{"widget.greeting", "the greeting"},
	{"widget.away_message", "the away note"},
	{"default_locale", "the language for other visitors"},
}

// settingsRefusal says why a settings form was not saved, naming the
// field as the page does.
func settingsRefusal(msg string) string {
	for _, f := range settingsFields {
		if rest, ok := strings.CutPrefix(msg, f.name+" "); ok {
			msg = f.label + " " + rest
			break
		}
	}
	return "Not saved: " + strings.TrimSuffix(msg, ".") + "."
}

// settingsSections are the parts of Settings whose forms save settings: a
// saved one is shown again where it is, not at the top of the page.
var settingsSections = []string{"workspace", "preferences", "privacy", "contact-form", "assignment", "typing", "widget-look", "identity"}

// settingsSection is the fragment of the settings page's part a form
// named (section), "" for none it has.
func settingsSection(section string) string {
	if slices.Contains(settingsSections, section) {
		return "#" + section
	}
	return ""
}

// localeNames name the languages in the settings, each in itself.
var localeNames = map[string]string{"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español",
	"it": "Italiano", "pt": "Português", "nl": "Nederlands"}

// commonTimeZones are offered in the time zone field; any IANA name is
// accepted.
var commonTimeZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich", "Europe/Stockholm", "Europe/Warsaw",
	"Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Europe/Moscow", "Africa/Cairo", "Africa/Johannesburg",
	"Africa/Lagos", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/Mexico_City", "America/New_York",
	"America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto", "America/Vancouver",
}
