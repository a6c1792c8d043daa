package web_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/web"
)

// A widget that stops reading (a frozen tab, a client gone without closing
// its socket) must not hold its connection's writer for ever: once the
// socket's buffers are full, the frame being written fails after the write
// timeout and the connection is dropped, its visitor leaving the hub.
func TestStalledWidgetIsDropped(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	// The same chat service and hub, served with a short write timeout.
	h := web.New(s.App.Chat, s.App.Hub, web.Options{Secret: []byte("another secret"), Logger: s.App.Log, WriteTimeout: 200 * time.Millisecond})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	own := *s
	own.URL = hs.URL

	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	own.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken, nil)
	if err != nil {
		t.Fatalf("dial the widget's WebSocket: %v", err)
	}
	defer c.CloseNow() // and never read from it
	widgets := func() int { w, _ := s.App.Hub.Counts(); return w }
	apptest.Eventually(t, 5*time.Second, "the widget registered", func() bool { return widgets() == 1 })

	// 40 MiB, more than loopback's socket buffers hold on both sides, in
	// fewer frames than a widget's send buffer takes (so that it is the
	// write that fails, not the queue that overflows).
	frame := bytes.Repeat([]byte("x"), 1<<20)
	for range 40 {
		s.App.Hub.ToVisitor(sess.Visitor.ID, frame)
	}
	apptest.Eventually(t, 5*time.Second, "the stalled widget dropped", func() bool { return widgets() == 0 })
}
