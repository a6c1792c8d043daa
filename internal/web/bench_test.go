package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// BenchmarkReplyToWidget measures one agent reply from the POST to the
// frame arriving at the visitor's open widget, on a real server and SQLite.
func BenchmarkReplyToWidget(b *testing.B) {
	s := apptest.Start(b, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hi", "client_id": "x"}, http.StatusCreated, &m)
	w := s.DialWidget(sess.VisitorToken)
	path := "/api/v1/conversations/" + m.ConversationID + "/messages"
	body := map[string]string{"body": "An answer of ordinary length, about one line.", "kind": "reply"}
	b.ReportAllocs()
	b.ResetTimer()
	reportDB := countDBWork(b, s)
	for i := 0; i < b.N; i++ {
		s.Do("POST", path, a.Token, body, http.StatusCreated, nil)
		w.WaitFor("message", 5*time.Second)
	}
	b.StopTimer()
	reportDB()
}

// BenchmarkVisitorMessage is the other way: a visitor writes in the widget
// (its WebSocket, as the widget does) and the agent's dashboard receives
// the message. Each op waits for the dashboard's message.created and the
// widget's echo; the database's work is counted as for a reply. A visitor
// may write ten messages in a burst: the ops take turns among enough
// visitors, each with a conversation made by a first message before the
// timer starts.
func BenchmarkVisitorMessage(b *testing.B) {
	s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	dash := s.DialAgent(a.Token)
	const perVisitor = 8
	widgets := make([]*apptest.WS, (b.N+perVisitor-1)/perVisitor)
	send := func(w *apptest.WS, i int) {
		w.Send(map[string]string{"type": "message", "body": "A question of ordinary length, about one line?", "client_id": fmt.Sprint("c-", i)})
		dash.WaitFor("message.created", 5*time.Second)
		w.WaitFor("message", 5*time.Second)
	}
	for i := range widgets {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
		widgets[i] = s.DialWidget(sess.VisitorToken)
		send(widgets[i], -1)
	}
	waitQuiet(b)
	b.ReportAllocs()
	b.ResetTimer()
	reportDB := countDBWork(b, s)
	for i := 0; i < b.N; i++ {
		send(widgets[i%len(widgets)], i)
	}
	b.StopTimer()
	reportDB()
}

// BenchmarkFirstMessage is a visitor's first message in an open widget:
// it makes the conversation, the dashboard receives it and the widget its
// echo; the forwarding engine's look at the new conversation is counted in
// the database's work (reported once it is quiet). Every op is a new
// visitor, opened before the timer starts.
func BenchmarkFirstMessage(b *testing.B) {
	s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	dash := s.DialAgent(a.Token)
	widgets := make([]*apptest.WS, b.N)
	for i := range widgets {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
		widgets[i] = s.DialWidget(sess.VisitorToken)
	}
	waitQuiet(b)
	b.ReportAllocs()
	b.ResetTimer()
	reportDB := countDBWork(b, s)
	for i, w := range widgets {
		w.Send(map[string]string{"type": "message", "body": "Hello, is anyone there?", "client_id": fmt.Sprint("c-", i)})
		dash.WaitFor("message.created", 5*time.Second)
		w.WaitFor("message", 5*time.Second)
	}
	b.StopTimer()
	reportDB()
}

// BenchmarkWidgetConnectionMemory opens a few thousand widget connections
// and reports the heap and stacks the server holds for them, and its
// goroutines, per connection. The widgets are raw sockets that hold no
// memory nor goroutine of their own beyond their socket and a small read
// buffer, so the figures are the server's.
func BenchmarkWidgetConnectionMemory(b *testing.B) {
	const n = 2000
	for i := 0; i < b.N; i++ {
		s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
		tokens := widgetTokens(b, s, n)
		goroutines := settledGoroutines()
		before := memInUse()
		conns := dialRawWidgets(b, s, tokens)
		after := memInUse()
		b.ReportMetric(float64(after-before)/n/1024, "KiB/conn")
		b.ReportMetric(float64(settledGoroutines()-goroutines)/n, "goroutines/conn")
		for _, c := range conns {
			_ = c.conn.Close()
		}
	}
}

func memInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// BenchmarkAgentsFrameToWidgets measures a fan-out over real sockets: the
// only agent goes online or offline, and the "agents" frame must reach
// every one of 1,000 open widgets.
func BenchmarkAgentsFrameToWidgets(b *testing.B) {
	const n = 1000
	s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	a := s.AddAgent("ann@example.com", "Ann")
	widgets := make([]*apptest.WS, n)
	for i := range widgets {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
		widgets[i] = s.DialWidget(sess.VisitorToken)
	}
	status := []string{"online", "offline"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": status[i%2]}, http.StatusOK, nil)
		for _, w := range widgets {
			w.WaitFor("agents", 10*time.Second)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/widget")
}

// BenchmarkInboxPage measures the dashboard's inbox page (50 conversations,
// each row with its assignment menu), and the list's partial, for a team of
// 20 agents, rendered for
// one of them: time and allocations per page, the client's included,
// which the template's work dominates on a small database.
func BenchmarkInboxPage(b *testing.B) {
	const team, conversations = 20, 50
	s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	for i := range team - 1 {
		s.AddAgent(fmt.Sprintf("agent%d@example.com", i), fmt.Sprintf("Agent <%d> & Co", i))
	}
	ann := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	for i := range conversations {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
		s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken,
			"body": "A question of ordinary length, about one line?", "client_id": fmt.Sprint("c-", i)}, http.StatusCreated, nil)
	}
	client := dashboardClient(b, s, "ann@example.com")
	b.Run("page", func(b *testing.B) { benchPage(b, client, s.URL+"/dashboard?status=all") })
	// The list as dashboard.js fetches it again on each event.
	b.Run("partial", func(b *testing.B) { benchPage(b, client, s.URL+"/dashboard/partials/list?status=all&compact=1") })
}

// BenchmarkConversationPage measures the dashboard's page of a
// conversation (50 messages: each of the visitor's followed by replies and
// comments of agents of a team of 20, beside the list), as
// BenchmarkInboxPage does the list.
func BenchmarkConversationPage(b *testing.B) {
	const team, exchanges, answers = 20, 10, 4
	s := apptest.Start(b, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	agents := make([]apptest.Agent, team)
	for i := range agents {
		agents[i] = s.AddAgent(fmt.Sprintf("agent%d@example.com", i), fmt.Sprintf("Agent <%d> & Co", i))
	}
	s.Do("PUT", "/api/v1/me/status", agents[0].Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, http.StatusOK, &sess)
	var conv string
	for i := range exchanges {
		var m struct {
			ConversationID string `json:"conversation_id"`
		}
		s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken,
			"body": "A question of ordinary length, with a link https://example.com/a?b=c, about one line?", "client_id": fmt.Sprint("c-", i)}, http.StatusCreated, &m)
		conv = m.ConversationID
		for j := range answers {
			kind := []string{"reply", "comment"}[j%2]
			s.Do("POST", "/api/v1/conversations/"+conv+"/messages", agents[(i*answers+j)%team].Token,
				map[string]string{"body": "An answer of ordinary length, about *one* line, with `code`.", "kind": kind}, http.StatusCreated, nil)
		}
	}
	client := dashboardClient(b, s, "agent0@example.com")
	benchPage(b, client, s.URL+"/dashboard/conversations/"+conv)
}

// dashboardClient is a client logged in to the dashboard.
func dashboardClient(b *testing.B, s *apptest.Server, email string) *http.Client {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(s.URL+"/dashboard/login", url.Values{"email": {email}, "password": {apptest.AgentPassword}})
	if err != nil {
		b.Fatalf("dashboard login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("dashboard login: status %d", resp.StatusCode)
	}
	return client
}

// benchPage gets a page b.N times, once the server is quiet.
func benchPage(b *testing.B, client *http.Client, url string) {
	waitQuiet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: status %d", url, resp.StatusCode)
		}
		b.SetBytes(n)
	}
}
