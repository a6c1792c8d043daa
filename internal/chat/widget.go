package chat

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/model"
)

// Codes of refused widget settings.
const (
	CodeInvalidColor    = "invalid_color"
	CodeInvalidPosition = "invalid_position"
	CodeInvalidLocale   = "invalid_locale"
)

// MaxWidgetText bounds the greeting and the away note, in characters: a
// line or two in the widget, not a page.
const MaxWidgetText = 300

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// applyWidgetPatch checks and applies the widget and language part of a
// settings patch to st.
func applyWidgetPatch(st *model.Settings, p SettingsPatch) error {
	if p.DefaultLocale != nil {
		l := strings.ToLower(strings.TrimSpace(*p.DefaultLocale))
		if !i18n.Supported(l) {
			return newError(CodeInvalidLocale, "default_locale is one of "+strings.Join(i18n.Languages, ", "))
		}
		st.DefaultLocale = l
	}
	wp := p.Widget
	if wp == nil {
		return nil
	}
	if wp.Color != nil {
		c := strings.TrimSpace(*wp.Color)
		if !hexColor.MatchString(c) {
			return newError(CodeInvalidColor, "widget.color is a colour written #RRGGBB, such as #2563eb")
		}
		st.Widget.Color = strings.ToLower(c)
	}
	if wp.Position != nil {
		switch *wp.Position {
		case model.WidgetRight, model.WidgetLeft:
			st.Widget.Position = *wp.Position
		default:
			return newError(CodeInvalidPosition, `widget.position is "right" or "left"`)
		}
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
	}{{"widget.greeting", wp.Greeting, &st.Widget.Greeting}, {"widget.away_message", wp.AwayMessage, &st.Widget.AwayMessage}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxWidgetText {
			return newError(CodeBadRequest, f.name+" is at most 300 characters (empty: the default wording)")
		}
		*f.out = v
	}
	return nil
}

// WidgetView is the widget part of the session answer: the workspace's
// look, with the default wording, in the visitor's language, wherever the
// workspace wrote none.
type WidgetView struct {
	Color       string `json:"color"`
	Position    string `json:"position"`
	Greeting    string `json:"greeting"`
	AwayMessage string `json:"away_message"`
	// AwayCustom says the workspace wrote AwayMessage: the contact form
	// asked while every agent is away shows it instead of its own words.
	AwayCustom bool `json:"away_custom"`
}

func widgetView(st model.Settings, lang string) WidgetView {
	p := i18n.For(lang)
	v := WidgetView{Color: st.Widget.Color, Position: st.Widget.Position, Greeting: st.Widget.Greeting, AwayMessage: st.Widget.AwayMessage}
	if !hexColor.MatchString(v.Color) {
		v.Color = model.DefaultWidgetColor
	}
	if v.Position != model.WidgetLeft {
		v.Position = model.WidgetRight
	}
	if v.Greeting == "" {
		v.Greeting = p.T("widget.greeting")
	}
	v.AwayCustom = v.AwayMessage != ""
	if !v.AwayCustom {
		v.AwayMessage = p.T("widget.away")
	}
	return v
}

// rememberLanguage resolves the language the widget speaks to v (the
// widget's locale, else Accept-Language, else the workspace's default) and
// keeps it for the emails written to v later. (The session's time zone is
// kept with the rest of the visitor's context.)
func (s *Service) rememberLanguage(ctx context.Context, v model.Visitor, st model.Settings, in SessionLanguage) (model.Visitor, error) {
	lang := i18n.Resolve(in.Locale, in.AcceptLanguage, st.DefaultLocale)
	if lang == v.Language {
		return v, nil
	}
	if err := s.db.SetVisitorLanguage(ctx, v.ID, lang); err != nil {
		return v, err
	}
	v.Language = lang
	return v, nil
}

// Look is the widget's look for a site before any session: what a
// first-time visitor's launcher needs, with no visitor created.
type Look struct {
	Locale string     `json:"locale"`
	Widget WidgetView `json:"widget"`
}

// WidgetLook answers a site's look in the language lang resolves to.
func (s *Service) WidgetLook(ctx context.Context, siteKey string, lang SessionLanguage) (Look, error) {
	w, _, err := s.siteWorkspace(ctx, siteKey)
	if err != nil {
		return Look{}, err
	}
	l := i18n.Resolve(lang.Locale, lang.AcceptLanguage, w.Settings.DefaultLocale)
	return Look{Locale: l, Widget: widgetView(w.Settings, l)}, nil
}
