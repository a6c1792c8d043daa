package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// TestSlowReceiverDelaysOnlyItsWorkspace: a workspace whose receiver hangs
// holds at most all the deliverer's slots but one; another workspace's
// event is delivered while those calls still hang, not after them.
func TestSlowReceiverDelaysOnlyItsWorkspace(t *testing.T) {
	s := apptest.Start(t, map[string]string{
		"PARLEY_DATABASE_URL":          "sqlite:" + filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_WEBHOOK_ALLOW_PRIVATE": "1",
		"PARLEY_RATE_LIMITS":           "off",
	})
	release := make(chan struct{})
	var releaseOnce sync.Once
	var hanging atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }); slow.Close() })
	fast := newFlaky(t, 0, 0)

	other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	mallory := s.AddAgent("mallory@example.com", "Mallory", other.ID)
	ann := s.AddAgent("ann@example.com", "Ann")
	for _, a := range []apptest.Agent{mallory, ann} {
		s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	}
	s.Do("POST", "/api/v1/webhooks", mallory.Token, map[string]any{"url": slow.URL + "/hook", "events": []string{"message.created"}}, http.StatusCreated, nil)
	s.Do("POST", "/api/v1/webhooks", ann.Token, map[string]any{"url": fast.srv.URL + "/hook", "events": []string{"message.created"}}, http.StatusCreated, nil)

	// Twelve conversations of the other workspace: twelve deliveries that
	// may run at once, more than the deliverer's slots.
	for range 12 {
		var sess session
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": other.SiteKey}, http.StatusOK, &sess)
		say(t, s, sess.VisitorToken, "hello")
	}
	apptest.Eventually(t, 10*time.Second, "the slow receiver to hold seven calls", func() bool { return hanging.Load() == 7 })

	m := say(t, s, newVisitor(t, s), "is anyone there?")
	apptest.Eventually(t, 5*time.Second, "the other workspace's event delivered", func() bool {
		for _, h := range fast.delivered() {
			if h.ConversationID == m.ConversationID {
				return true
			}
		}
		return false
	})
	if n := hanging.Load(); n != 7 {
		t.Errorf("%d calls hanging once the event was delivered, want the 7 still held", n)
	}
	releaseOnce.Do(func() { close(release) })
}

// TestBacklogOfOneWorkspaceFlows: a workspace with more due deliveries
// than its share of the slots gets the next one claimed as each call ends,
// not at the deliverer's once-a-second look, even while one of its calls
// hangs (which made a backlog crawl at six deliveries a second).
func TestBacklogOfOneWorkspaceFlows(t *testing.T) {
	s := apptest.Start(t, map[string]string{
		"PARLEY_DATABASE_URL":          "sqlite:" + filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_WEBHOOK_ALLOW_PRIVATE": "1",
		"PARLEY_RATE_LIMITS":           "off",
	})
	// The receiver holds every call until the backlog is queued, then
	// answers all but the first, which hangs until the test ends.
	queued, release := make(chan struct{}), make(chan struct{})
	var calls, answered atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := calls.Add(1) == 1
		select {
		case <-queued:
		case <-r.Context().Done():
			return
		}
		if first {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		answered.Add(1)
	}))
	t.Cleanup(func() { close(release); rcv.Close() })
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	s.Do("POST", "/api/v1/webhooks", a.Token, map[string]any{"url": rcv.URL + "/hook", "events": []string{"message.created"}}, http.StatusCreated, nil)
	const n = 120
	for range n {
		say(t, s, newVisitor(t, s), "hello")
	}
	apptest.Eventually(t, 10*time.Second, "the workspace's share of calls made", func() bool { return calls.Load() == 7 })
	close(queued)
	apptest.Eventually(t, 5*time.Second, "the backlog delivered beside the hanging call", func() bool { return answered.Load() == n-1 })
}
