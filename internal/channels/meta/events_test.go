package meta

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/chat"
)

func TestMessageBody(t *testing.T) {
	tests := []struct {
		name        string
		event       string // the "message" object of a messaging event
		channel     string
		want        string
		wantPayload string
	}{
		{"text", `{"mid":"m1","text":"hello, world!"}`, "messenger", "hello, world!", ""},
		{"quick reply: the text, payload kept", `{"mid":"m1","text":"Red","quick_reply":{"payload":"COLOR_RED"}}`, "messenger", "Red", "COLOR_RED"},
		{"image", `{"mid":"m1","attachments":[{"type":"image","payload":{"url":"https://scontent.xx.fbcdn.net/a.jpg"}}]}`, "messenger",
			"[Image] https://scontent.xx.fbcdn.net/a.jpg", ""},
		{"text and two attachments", `{"mid":"m1","text":"see","attachments":[{"type":"video","payload":{"url":"https://v.example/v.mp4"}},{"type":"file","payload":{"url":"https://f.example/f.pdf"}}]}`, "messenger",
			"see\n[Video] https://v.example/v.mp4\n[File] https://f.example/f.pdf", ""},
		{"shared link (fallback)", `{"mid":"m1","attachments":[{"type":"fallback","title":"A page","url":"https://example.com/x","payload":null}]}`, "messenger",
			"[Link] A page https://example.com/x", ""},
		{"sticker", `{"mid":"m1","attachments":[{"type":"image","payload":{"url":"https://s.example/369239263222822.png","sticker_id":369239263222822}}]}`, "messenger",
			"[Sticker] https://s.example/369239263222822.png", ""},
		{"location", `{"mid":"m1","attachments":[{"type":"location","payload":{"coordinates":{"lat":48.8584,"long":2.2945}}}]}`, "messenger",
			"[Location] https://www.openstreetmap.org/?mlat=48.858400&mlon=2.294500", ""},
		{"instagram share", `{"mid":"m1","attachments":[{"type":"share","payload":{"url":"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}]}`, "instagram",
			"[Shared post] https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", ""},
		{"unknown attachment type", `{"mid":"m1","attachments":[{"type":"hologram","payload":{"url":"https://h.example/1"}}]}`, "messenger",
			"[Attachment (hologram)] https://h.example/1", ""},
		{"instagram unsupported", `{"mid":"m1","is_unsupported":true}`, "instagram",
			"(a kind of message Parley cannot show: open Instagram to see it)", ""},
		{"nothing at all", `{"mid":"m1"}`, "messenger", "(empty message)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev messagingEvent
			if err := json.Unmarshal([]byte(`{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1458692752478,"message":`+tc.event+`}`), &ev); err != nil {
				t.Fatal(err)
			}
			got := messageBody(ev.Message.Text, ev.Message.Attachments, ev.Message.IsUnsupported, tc.channel)
			if got != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
			payload := ""
			if ev.Message.QuickReply != nil {
				payload = ev.Message.QuickReply.Payload
			}
			if payload != tc.wantPayload {
				t.Errorf("payload %q, want %q", payload, tc.wantPayload)
			}
		})
	}
}

func TestMessageBodyIsBounded(t *testing.T) {
	body := messageBody(strings.Repeat("é", chat.MaxMessageLength+50), nil, false, "messenger")
	if n := utf8.RuneCountInString(body); n != chat.MaxMessageLength {
		t.Errorf("body of %d characters, want %d", n, chat.MaxMessageLength)
	}
}

func TestFlexibleNumbers(t *testing.T) {
	var v struct {
		A, B, C flexInt
		ID      flexString
		N       flexString
	}
	if err := json.Unmarshal([]byte(`{"A":1458668856253,"B":"1527459824","C":null,"ID":"123","N":17841400000000001}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 1458668856253 || v.B != 1527459824 || v.C != 0 || v.ID != "123" || v.N != "17841400000000001" {
		t.Errorf("%+v", v)
	}
	if err := json.Unmarshal([]byte(`{"A":"soon"}`), &v); err == nil {
		t.Error("a non-number timestamp was accepted")
	}
}

func TestWatermarkCoversItsMillisecond(t *testing.T) {
	wm := watermark(1458668856253)
	tests := []struct {
		sentAt time.Time
		read   bool
	}{
		{time.UnixMicro(1458668856252999), true},
		{time.UnixMicro(1458668856253000), true},
		{time.UnixMicro(1458668856253999), true},
		{time.UnixMicro(1458668856254000), false},
	}
	for _, tt := range tests {
		// The store compares microseconds: channel_sent_at <= watermark.
		if got := tt.sentAt.UnixMicro() <= wm.UnixMicro(); got != tt.read {
			t.Errorf("sent at %d µs: read %v, want %v", tt.sentAt.UnixMicro(), got, tt.read)
		}
	}
}
