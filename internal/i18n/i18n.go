// Package i18n holds the text Parley shows visitors (the widget's pages,
// the chat-link and unsubscribe pages, forwarded emails) in every language
// it speaks, and picks the language for a visitor.
//
// The wording lives in one catalogue per language (en.go, fr.go, …), loaded
// into a golang.org/x/text/message catalogue so that plural forms follow
// each language's rules (French counts 0 and 1 as singular, the others
// only 1).
package i18n

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Languages are the languages Parley speaks, as the two-letter codes the
// API and the Content-Language header use.
var Languages = []string{"en", "fr", "de", "es", "it", "pt", "nl"}

// Default is the language of a workspace that chose none.
const Default = "en"

// Plural is a message whose wording depends on a count, the first
// argument: One for the singular (as each language counts it), Other for
// the rest.
type Plural struct{ One, Other string }

// Lang is one language's catalogue: its messages by key (a string or a
// Plural, formatted as fmt does), and the names it uses in dates.
type Lang struct {
	Messages map[string]any
	Days     [7]string  // abbreviated, Sunday first
	Months   [12]string // abbreviated, January first
	// Date formats a day without its year: "{day}", "{d}" and "{month}"
	// are replaced; DateYear the same with "{year}".
	Date, DateYear string
}

var langs = map[string]*Lang{"en": &en, "fr": &fr, "de": &de, "es": &es, "it": &it, "pt": &pt, "nl": &nl}

var (
	cat     = catalog.NewBuilder(catalog.Fallback(language.English))
	tags    []language.Tag
	matcher language.Matcher
)

func init() {
	for _, code := range Languages {
		tag := language.MustParse(code)
		tags = append(tags, tag)
		for key, m := range langs[code].Messages {
			var err error
			switch m := m.(type) {
			case string:
				err = cat.SetString(tag, key, m)
			case Plural:
				err = cat.Set(tag, key, plural.Selectf(1, "%d", plural.One, m.One, plural.Other, m.Other))
			default:
				err = fmt.Errorf("message is a %T", m)
			}
			if err != nil {
				panic(fmt.Sprintf("i18n: %s %q: %v", code, key, err))
			}
		}
	}
	matcher = language.NewMatcher(tags)
}

// Supported reports whether code is one of Languages.
func Supported(code string) bool { return slices.Contains(Languages, code) }

// Match returns the supported language a BCP 47 tag (e.g. "fr-CA") asks
// for, or false when it asks for none of them.
func Match(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > 35 {
		return "", false
	}
	t, err := language.Parse(tag)
	if err != nil {
		return "", false
	}
	return best(t)
}

// MatchAccept returns the supported language an Accept-Language header
// prefers, or false when it names none of them.
func MatchAccept(header string) (string, bool) {
	if len(header) > 500 {
		header = header[:500]
	}
	ts, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return "", false
	}
	for _, t := range ts {
		if code, ok := best(t); ok {
			return code, true
		}
	}
	return "", false
}

// best is the supported language of the same base language as t.
func best(t language.Tag) (string, bool) {
	base, conf := t.Base()
	if conf == language.No {
		return "", false
	}
	if _, i, c := matcher.Match(t); c != language.No && base.String() == Languages[i] {
		return Languages[i], true
	}
	return "", false
}

// Resolve picks a visitor's language as the contract says: the locale the
// widget sent, else the browser's Accept-Language, else the workspace's
// default; anything unknown falls through to the next, and to Default.
func Resolve(locale, acceptLanguage, workspaceDefault string) string {
	if code, ok := Match(locale); ok {
		return code
	}
	if code, ok := MatchAccept(acceptLanguage); ok {
		return code
	}
	if Supported(workspaceDefault) {
		return workspaceDefault
	}
	return Default
}

// Printer formats the messages of one language.
type Printer struct {
	code string
	p    *message.Printer
	// region is where the reader is (an ISO 3166 code, "US"), for how
	// times are written; "": the language's usual way.
	region string
}

// In is the printer for a reader in the region of a BCP 47 locale
// ("en-US"): English in the United States writes "Sun, Dec 6, 5:29 PM",
// in Britain "Sun 6 Dec 17:29". A locale without a region, or one the
// printer's language has no other way for, changes nothing.
func (p Printer) In(locale string) Printer {
	if tag, err := language.Parse(locale); err == nil {
		if r, conf := tag.Region(); conf == language.Exact {
			p.region = r.String()
		}
	}
	return p
}

// For returns the printer of a language; an unsupported one is Default.
func For(code string) Printer {
	if !Supported(code) {
		code = Default
	}
	return Printer{code: code, p: message.NewPrinter(language.MustParse(code), message.Catalog(cat))}
}

// Lang is the printer's language code.
func (p Printer) Lang() string { return p.code }

// T formats the message key with args. An unknown key is a programming
// error caught by the catalogue's tests; it prints as the key.
func (p Printer) T(key string, args ...any) string {
	s := p.p.Sprintf(key, args...)
	// A name that ends with a full stop ends a sentence with it: "a reply
	// from Kettle & Co.", not "Co..".
	for _, a := range args {
		if v, ok := a.(string); ok && strings.HasSuffix(v, ".") {
			s = strings.ReplaceAll(s, v+".", v)
		}
	}
	return s
}

// Keys lists the keys of a language's catalogue, sorted.
func Keys(code string) []string {
	l, ok := langs[code]
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(l.Messages))
	for k := range l.Messages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
