package forward_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// Many visitors giving the same (someone else's) address cannot make
// Parley email it more than PARLEY_FORWARD_MAX_PER_ADDRESS times a day:
// the conversation beyond it waits, and says why.
func TestEmailsPerAddressPerDay(t *testing.T) {
	w := newWorld(t, map[string]string{"PARLEY_FORWARD_MAX_PER_ADDRESS": "2"})
	var convs []string
	for range 3 {
		v := w.visitorChats("victim@example.com")
		v.leave()
		w.reply(v.conv, "text a stranger chose")
		convs = append(convs, v.conv)
	}
	w.relay.Wait(t, 2, 15*time.Second)
	var limited string
	apptest.Eventually(t, 10*time.Second, "a conversation held back by the per-address limit", func() bool {
		for _, c := range convs {
			if code, _ := w.state(c); code == "address_limit" {
				limited = c
			}
		}
		return limited != ""
	})
	if _, reason := w.state(limited); !strings.Contains(reason, "victim@example.com received 2 emails in the last 24 hours") {
		t.Errorf("reason %q", reason)
	}
	w.noMail(2, time.Second)
}
