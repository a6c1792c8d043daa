package forward_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// Once the relay accepted the email, the conversation's forwarding state
// says so: "sent", not "queued"; and the agents' API shows the same.
func TestForwardingStateSentOnceRelayAccepted(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "Here is your answer")
	w.relay.Wait(t, 1, 10*time.Second)
	var code, reason string
	apptest.Eventually(t, wait, "forwarding code sent", func() bool {
		code, reason = w.state(v.conv)
		return code == "sent"
	})
	if !strings.Contains(reason, "vera@example.com") || !strings.Contains(reason, "the relay accepted it") {
		t.Errorf("reason %q", reason)
	}
	var c model.Conversation
	w.s.Do("GET", "/api/v1/conversations/"+v.conv, w.agent.Token, nil, http.StatusOK, &c)
	if c.Forwarding == nil || c.Forwarding.Code != "sent" {
		t.Fatalf("API forwarding = %+v, want code sent", c.Forwarding)
	}
}

// An evaluation after the email was queued (the visitor's page closing,
// activity) leaves the email's state alone: "queued" while the relay
// refuses it, then "sent" once it accepts, never "already emailed" (which
// no relay answer would move on again).
func TestForwardingStateFollowsTheEmailThroughReevaluations(t *testing.T) {
	w := newWorld(t, nil)
	w.relay.RefuseNext(1)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "Here is your answer")
	apptest.Eventually(t, wait, "the relay's refusal", func() bool { return w.relay.Attempts() >= 1 })
	if err := w.s.App.Engine.Evaluate(t.Context(), v.conv); err != nil {
		t.Fatal(err)
	}
	if code, reason := w.state(v.conv); code != "queued" {
		t.Fatalf("after a refusal and an evaluation: %s (%s), want queued", code, reason)
	}
	w.relay.Wait(t, 1, 20*time.Second)
	apptest.Eventually(t, wait, "forwarding code sent", func() bool {
		code, _ := w.state(v.conv)
		return code == "sent"
	})
	if err := w.s.App.Engine.Evaluate(t.Context(), v.conv); err != nil {
		t.Fatal(err)
	}
	if code, reason := w.state(v.conv); code != "sent" {
		t.Errorf("after the email was sent and an evaluation: %s (%s), want sent", code, reason)
	}
}

// The times in the forwarding state are the workspace's clock, the email's
// queueing and the relay's acceptance alike (one was the server's, the
// other UTC).
func TestForwardingStateTimesInTheWorkspaceZone(t *testing.T) {
	w := newWorld(t, nil)
	// Kathmandu is UTC+5:45 all year: no server's zone and no rounding
	// of UTC to the hour writes its minutes.
	w.s.Do("PUT", "/api/v1/settings", w.agent.Token, map[string]string{"time_zone": "Asia/Kathmandu"}, http.StatusOK, nil)
	zone, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	v := w.visitorChats("vera@example.com")
	v.leave()
	from := time.Now()
	w.reply(v.conv, "Here is your answer")
	w.relay.Wait(t, 1, 10*time.Second)
	var reason string
	apptest.Eventually(t, wait, "forwarding code sent", func() bool {
		var code string
		code, reason = w.state(v.conv)
		return code == "sent"
	})
	to := time.Now()
	clocks := regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`).FindAllString(reason, -1)
	if len(clocks) != 2 {
		t.Fatalf("reason %q: want the times it was emailed and accepted", reason)
	}
	for _, c := range clocks {
		ok := false
		for at := from.Add(-time.Second); !at.After(to.Add(time.Second)); at = at.Add(time.Second) {
			ok = ok || at.In(zone).Format("15:04:05") == c
		}
		if !ok {
			t.Errorf("reason %q: %s is not Kathmandu's clock between %s and %s", reason, c,
				from.In(zone).Format("15:04:05"), to.In(zone).Format("15:04:05"))
		}
	}
}

// Replies written while forwarding is "Do not send" stay unsent when it is
// switched back on; the replies written after that are emailed, with the
// earlier one only as context.
func TestRepliesWrittenWhileOffStayUnsent(t *testing.T) {
	w := newWorld(t, nil)
	w.s.Do("PUT", "/api/v1/settings", w.agent.Token, map[string]string{"email_forwarding": "off"}, 200, nil)
	v := w.visitorChats("vera@example.com")
	off := w.reply(v.conv, "written while off")
	v.leave()
	w.noMail(0, leftAfter+quiet+time.Second)
	w.s.Do("PUT", "/api/v1/settings", w.agent.Token, map[string]string{"email_forwarding": "unread"}, 200, nil)
	w.noMail(0, leftAfter+quiet+time.Second)
	if code, reason := w.state(v.conv); code != "nothing_pending" {
		t.Fatalf("forwarding %q (%s), want nothing_pending", code, reason)
	}

	on := w.reply(v.conv, "written while on")
	mails := w.relay.Wait(t, 1, 10*time.Second)
	text, _ := parts(t, mails[0])
	if !strings.Contains(text, "[new] Ann") || strings.Count(text, "[new]") != 1 {
		t.Errorf("want exactly one new reply:\n%s", text)
	}
	if i, j := strings.Index(text, "written while off"), strings.Index(text, "[new]"); i < 0 || i > j {
		t.Errorf("the reply written while off is not shown as earlier context:\n%s", text)
	}
	for _, m := range w.messages(v.conv) {
		switch m.ID {
		case off.ID:
			if m.Forwarded != nil {
				t.Errorf("reply written while off marked forwarded: %+v", m.Forwarded)
			}
		case on.ID:
			if m.Forwarded == nil {
				t.Errorf("reply written while on not marked forwarded")
			}
		}
	}
}
