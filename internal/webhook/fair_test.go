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
