package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// hit is one request a receiver got.
type hit struct {
	ID, Type       string
	ConversationID string
	Body           []byte
	Signature      string
	Status         int
}

// flaky is a webhook receiver that hangs on its first hang requests until
// the caller gives up, closes the connection without an answer on the
// next drop ones, answers 500 to the next fail ones, then 200, keeping
// every request.
type flaky struct {
	mu               sync.Mutex
	fail, drop, hang int
	hits             []hit
	srv              *httptest.Server
}

func newFlaky(t *testing.T, drop, fail int) *flaky {
	f := &flaky{fail: fail, drop: drop}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flaky) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversation_id"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	conv := ev.Data.ConversationID
	if strings.HasPrefix(ev.Type, "conversation.") {
		conv = ev.Data.ID
	}
	f.mu.Lock()
	h := hit{ID: ev.ID, Type: ev.Type, ConversationID: conv, Body: body, Signature: r.Header.Get("X-Parley-Signature"), Status: 200}
	switch {
	case f.hang > 0:
		f.hang--
		h.Status = -1
	case f.drop > 0:
		f.drop--
		h.Status = 0
	case f.fail > 0:
		f.fail--
		h.Status = 500
	}
	f.hits = append(f.hits, h)
	f.mu.Unlock()
	switch h.Status {
	case -1:
		// Hang until the caller gives up (Parley shutting down).
		<-r.Context().Done()
	case 0:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(502)
	case 500:
		http.Error(w, "receiver down", 500)
	default:
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

func (f *flaky) all() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// delivered returns the events answered 200, in arrival order.
func (f *flaky) delivered() []hit {
	var out []hit
	for _, h := range f.all() {
		if h.Status == 200 {
			out = append(out, h)
		}
	}
	return out
}

func verify(t *testing.T, secret string, h hit) {
	t.Helper()
	var ts, sig string
	for _, part := range strings.Split(h.Signature, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(h.Body)))
	if ts == "" || !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		t.Errorf("bad signature %q on %s", h.Signature, h.Body)
	}
}

type session struct {
	VisitorToken string `json:"visitor_token"`
}

func newVisitor(t *testing.T, s *apptest.Server) string {
	t.Helper()
	var sess session
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	return sess.VisitorToken
}

func say(t *testing.T, s *apptest.Server, visitorToken, body string) model.Message {
	t.Helper()
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": visitorToken, "body": body}, http.StatusCreated, &m)
	return m
}

type created struct {
	Webhook struct {
		ID     string   `json:"id"`
		URL    string   `json:"url"`
		Events []string `json:"events"`
	} `json:"webhook"`
	Secret string `json:"secret"`
}

// startHooked runs Parley on the database at dbURL with Ann online and a
// webhook of hers to rcv for events, retried after 20ms.
func startHooked(t *testing.T, dbURL string, rcv *flaky, events ...string) (*apptest.Server, apptest.Agent, created) {
	t.Helper()
	s := apptest.Start(t, map[string]string{
		"PARLEY_DATABASE_URL":          dbURL,
		"PARLEY_WEBHOOK_ALLOW_PRIVATE": "1",
		"PARLEY_WEBHOOK_RETRY_BASE":    "20ms",
	})
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	var wh created
	s.Do("POST", "/api/v1/webhooks", a.Token, map[string]any{"url": rcv.srv.URL + "/hook", "events": events}, http.StatusCreated, &wh)
	return s, a, wh
}

// deliveredBodies returns the bodies of the messages rcv was delivered
// (message.created), in arrival order, each delivery's signature checked
// with secret.
func deliveredBodies(t *testing.T, rcv *flaky, secret string) []string {
	t.Helper()
	var bodies []string
	for _, h := range rcv.delivered() {
		var ev struct {
			Data model.Message `json:"data"`
		}
		if err := json.Unmarshal(h.Body, &ev); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, ev.Data.Body)
		verify(t, secret, h)
	}
	return bodies
}

func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "parley.db") },
		"postgres": func(t *testing.T) string { return apptest.Postgres(t) },
	}
}

// TestDeliveriesRetriedInOrder: a receiver that fails (no answer, then
// 500s) before it works gets every event, each conversation's in the
// order they happened, with the same id on every try and a valid
// signature; the delivery log shows the failures and the successes.
func TestDeliveriesRetriedInOrder(t *testing.T) {
	for name, dbURL := range databases(t) {
		t.Run(name, func(t *testing.T) {
			rcv := newFlaky(t, 1, 3)
			s, a, wh := startHooked(t, dbURL(t), rcv, "conversation.created", "message.created", "conversation.updated")
			if !strings.HasPrefix(wh.Secret, "whsec_") || wh.Webhook.ID == "" || len(wh.Webhook.Events) != 3 {
				t.Fatalf("created %+v", wh)
			}

			// Two visitors, interleaved, and an agent closing one conversation.
			v1, v2 := newVisitor(t, s), newVisitor(t, s)
			m1 := say(t, s, v1, "one-a")
			m2 := say(t, s, v2, "two-a")
			say(t, s, v1, "one-b")
			s.Do("POST", "/api/v1/conversations/"+m1.ConversationID+"/messages", a.Token, map[string]string{"body": "agent-one"}, http.StatusCreated, nil)
			say(t, s, v2, "two-b")
			s.Do("POST", "/api/v1/conversations/"+m1.ConversationID+"/close", a.Token, nil, http.StatusOK, nil)

			want := map[string][]string{
				// The close: its note ("Ann closed the conversation."), then the conversation.
				m1.ConversationID: {"conversation.created", "message.created", "message.created", "message.created", "message.created", "conversation.updated"},
				m2.ConversationID: {"conversation.created", "message.created", "message.created"},
			}
			apptest.Eventually(t, 20*time.Second, "every event delivered", func() bool { return len(rcv.delivered()) == 9 })

			got := map[string][]string{}
			for _, h := range rcv.delivered() {
				got[h.ConversationID] = append(got[h.ConversationID], h.Type)
				verify(t, wh.Secret, h)
			}
			for conv, types := range want {
				if strings.Join(got[conv], " ") != strings.Join(types, " ") {
					t.Errorf("conversation %s: delivered %v, want %v", conv, got[conv], types)
				}
			}
			// Every failed try was tried again with the same id and body.
			bodies := map[string]string{}
			for _, h := range rcv.delivered() {
				bodies[h.ID] = string(h.Body)
			}
			failed := 0
			for _, h := range rcv.all() {
				if h.Status == 200 {
					continue
				}
				failed++
				if bodies[h.ID] != string(h.Body) {
					t.Errorf("failed try of %s (%s) never delivered with the same body", h.ID, h.Body)
				}
			}
			if failed != 4 {
				t.Errorf("%d failed tries, want 4", failed)
			}
			if len(bodies) != 9 {
				t.Errorf("%d distinct event ids delivered, want 9", len(bodies))
			}

			var log struct {
				Deliveries []struct {
					EventID    string `json:"event_id"`
					EventType  string `json:"event_type"`
					At         string `json:"at"`
					StatusCode *int   `json:"status_code"`
					OK         bool   `json:"ok"`
					Error      string `json:"error"`
				} `json:"deliveries"`
			}
			apptest.Eventually(t, 5*time.Second, "every attempt logged", func() bool {
				s.Do("GET", "/api/v1/webhooks/"+wh.Webhook.ID+"/deliveries", a.Token, nil, http.StatusOK, &log)
				return len(log.Deliveries) == 13
			})
			oks, fails, noAnswer := 0, 0, 0
			for _, d := range log.Deliveries {
				switch {
				case d.OK:
					oks++
				case d.StatusCode == nil:
					noAnswer++
				default:
					fails++
				}
				if d.At == "" || d.EventID == "" || d.EventType == "" {
					t.Errorf("log entry %+v", d)
				}
			}
			if oks != 9 || fails != 3 || noAnswer != 1 {
				t.Errorf("log: %d delivered, %d failed with a status, %d without an answer", oks, fails, noAnswer)
			}
		})
	}
}

// TestDeliveriesSurviveRestart: Parley stops while a delivery is in flight
// (the receiver hangs) with more queued behind it; after a restart all are
// delivered, in order, the interrupted one under the id it had.
func TestDeliveriesSurviveRestart(t *testing.T) {
	for name, dbURL := range databases(t) {
		t.Run(name, func(t *testing.T) {
			url := dbURL(t)
			env := map[string]string{
				"PARLEY_DATABASE_URL":          url,
				"PARLEY_WEBHOOK_ALLOW_PRIVATE": "1",
				"PARLEY_WEBHOOK_RETRY_BASE":    "50ms",
			}
			// The first call hangs until Parley stops in the middle of it.
			rcv := newFlaky(t, 0, 0)
			rcv.mu.Lock()
			rcv.hang = 1
			rcv.mu.Unlock()
			s := apptest.Start(t, env)
			a := s.AddAgent("ann@example.com", "Ann")
			s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			var wh created
			s.Do("POST", "/api/v1/webhooks", a.Token, map[string]any{"url": rcv.srv.URL, "events": []string{"message.created"}}, http.StatusCreated, &wh)
			v := newVisitor(t, s)
			for _, b := range []string{"first", "second", "third"} {
				say(t, s, v, b)
			}
			apptest.Eventually(t, 10*time.Second, "a call in flight", func() bool { return len(rcv.all()) > 0 })
			s.Stop()
			tried := map[string]bool{}
			for _, h := range rcv.all() {
				tried[h.ID] = true
			}
			s2 := apptest.Start(t, env)
			apptest.Eventually(t, 20*time.Second, "the three events delivered after the restart", func() bool { return len(rcv.delivered()) == 3 })
			_ = s2
			order := deliveredBodies(t, rcv, wh.Secret)
			if strings.Join(order, " ") != "first second third" {
				t.Errorf("delivered %v", order)
			}
			for id := range tried {
				found := false
				for _, h := range rcv.delivered() {
					found = found || h.ID == id
				}
				if !found {
					t.Errorf("event %s, tried before the restart, was delivered under another id", id)
				}
			}
		})
	}
}
