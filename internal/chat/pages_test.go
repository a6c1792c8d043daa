package chat

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestParseUserAgent(t *testing.T) {
	tests := []struct {
		name, ua, browser, os string
	}{
		{"Chrome on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.127 Safari/537.36", "Chrome 126", "Windows 10"},
		{"Firefox on Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128", "Linux"},
		{"Safari on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17", "iOS 17"},
		{"Edge on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge 126", "macOS 10"},
		{"Chrome on Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36", "Chrome 126", "Android 14"},
		{"a crawler", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", ""},
		{"Go's HTTP client", "Go-http-client/1.1", "", ""},
		{"curl", "curl/8.5.0", "", ""},
		{"Python's requests", "python-requests/2.31.0", "", ""},
		{"OkHttp", "okhttp/4.12.0", "", ""},
		{"empty", "", "", ""},
		{"garbage", "\x00\xff<script>", "", ""},
		{"absurdly long", strings.Repeat("Mozilla/5.0 ", 200), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, o := ParseUserAgent(tt.ua)
			if b != tt.browser || o != tt.os {
				t.Errorf("ParseUserAgent = %q, %q; want %q, %q", b, o, tt.browser, tt.os)
			}
		})
	}
}

func TestCleanPageURL(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want string
	}{
		{"https://shop.example.com/cart?x=1#top", true, "https://shop.example.com/cart?x=1#top"},
		{"  http://example.com/  ", true, "http://example.com/"},
		{"javascript:alert(1)", false, ""},
		{"data:text/html,<b>x</b>", false, ""},
		{"file:///etc/passwd", false, ""},
		{"/relative/path", false, ""},
		{"https://", false, ""},
		{"", false, ""},
		{"https://example.com/\xff", false, ""},
		{"https://example.com/" + strings.Repeat("a", MaxPageURL), false, ""},
	}
	for _, tt := range tests {
		got, ok := cleanPageURL(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("cleanPageURL(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCleanLocaleAndTitle(t *testing.T) {
	locales := []struct {
		in, want string
		ok       bool
	}{
		{"fr-FR", "fr-FR", true},
		{"en_us", "en-US", true},
		{"pt-br", "pt-BR", true},
		{"zh-Hant-TW", "zh-Hant-TW", true},
		{"not a locale", "", false},
		{"", "", false},
		{strings.Repeat("a", 40), "", false},
	}
	for _, tt := range locales {
		got, ok := cleanLocale(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("cleanLocale(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := cleanTitle(" Cart\n\t(2 items) \x07 "); got != "Cart (2 items)" {
		t.Errorf("cleanTitle: %q", got)
	}
}

func TestContextChanges(t *testing.T) {
	str := func(s string) *string { return &s }
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	held := model.Visitor{VisitorContext: model.VisitorContext{Locale: str("fr-FR"), TimeZone: str("Europe/Paris"),
		Referrer: str("https://search.example.org/"), Browser: str("Firefox 128"), OS: str("Linux"),
		Page: &model.Page{URL: "https://shop.example.com/cart", Title: "Cart", At: at}}}
	same := store.ContextUpdate{Locale: str("fr-FR"), TimeZone: str("Europe/Paris"), Referrer: str("https://search.example.org/"),
		Browser: str("Firefox 128"), OS: str("Linux")}
	tests := []struct {
		name     string
		v        model.Visitor
		u        store.ContextUpdate
		page     *model.Page
		wantU    store.ContextUpdate
		wantPage bool
	}{
		{"a reload: nothing", held, same, &model.Page{URL: "https://shop.example.com/cart", Title: "Cart", At: at.Add(time.Hour)}, store.ContextUpdate{}, false},
		{"nothing said", held, store.ContextUpdate{}, nil, store.ContextUpdate{}, false},
		{"a new browser version", held, store.ContextUpdate{Browser: str("Firefox 129"), OS: str("Linux")}, nil, store.ContextUpdate{Browser: str("Firefox 129")}, false},
		{"another page", held, same, &model.Page{URL: "https://shop.example.com/pay", Title: "Pay"}, store.ContextUpdate{}, true},
		{"the page renamed", held, same, &model.Page{URL: "https://shop.example.com/cart", Title: "Cart (2)"}, store.ContextUpdate{}, true},
		{"a visitor with no context yet", model.Visitor{}, same, &model.Page{URL: "https://shop.example.com/cart", Title: "Cart"}, same, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, page := contextChanges(tt.v, tt.u, tt.page)
			if !reflect.DeepEqual(u, tt.wantU) {
				t.Errorf("update = %+v, want %+v", u, tt.wantU)
			}
			if (page != nil) != tt.wantPage || page != nil && *page != *tt.page {
				t.Errorf("page = %+v, want %v of %+v", page, tt.wantPage, tt.page)
			}
		})
	}
}
