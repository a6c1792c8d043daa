package meta

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzWebhookJSON feeds arbitrary bodies through what Parley does with a
// Meta webhook delivery before and after it is stored: the delivery is
// decoded, each messaging item decoded as an event, and a message's text
// and attachments turned into a message body. Nothing may panic, the
// timestamps must be representable, and the body must be valid UTF-8 of
// bounded length whatever arrives.
func FuzzWebhookJSON(f *testing.F) {
	for _, seed := range []string{
		`{"object":"page","entry":[{"id":"123","time":1,"messaging":[{"sender":{"id":"9"},"recipient":{"id":"123"},"timestamp":1700000000000,"message":{"mid":"m1","text":"hi"}}]}]}`,
		`{"object":"instagram","entry":[{"id":17841400000000000,"messaging":[{"sender":{"id":"9"},"timestamp":"1700000000000","read":{"mid":"m1"}}]}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"9"},"message":{"mid":"m2","attachments":[{"type":"image","payload":{"url":"https://x.example/a.png"}},{"type":"fallback","title":"T","url":"javascript:alert(1)"}]}}]}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"delivery":{"mids":["a","b"],"watermark":1e300}}]}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"postback":{"mid":"p","title":"\u202eevil","payload":"X"}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[]}`,
		`{"entry":null}`, `[]`, `null`, `{"object":1}`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d webhookDelivery
		if err := json.Unmarshal(body, &d); err != nil {
			return
		}
		channel, cerr := channelOf(d.Object)
		for _, e := range d.Entry {
			_ = string(e.ID)
			for _, item := range e.Messaging {
				var ev messagingEvent
				if err := json.Unmarshal(item, &ev); err != nil {
					continue
				}
				for _, ts := range []int64{int64(ev.Timestamp), watermarkOf(ev)} {
					if at := millis(ts); at.Year() > 1e6 || at.Year() < -1e6 {
						t.Fatalf("timestamp %d read as %v", ts, at)
					}
					_ = watermark(ts).Format(time.RFC3339)
				}
				if ev.Message == nil || cerr != nil {
					continue
				}
				got := messageBody(ev.Message.Text, ev.Message.Attachments, ev.Message.IsUnsupported, channel)
				if !utf8.ValidString(got) {
					t.Fatalf("body is not UTF-8: %q", got)
				}
				if n := utf8.RuneCountInString(got); n > 10000 {
					t.Fatalf("body of %d characters", n)
				}
			}
		}
	})
}

func watermarkOf(ev messagingEvent) int64 {
	switch {
	case ev.Delivery != nil:
		return int64(ev.Delivery.Watermark)
	case ev.Read != nil:
		return int64(ev.Read.Watermark)
	}
	return 0
}
