package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/logging/logtest"
)

// need finds a program the test cannot run without: skipped with a
// message when it is missing, failed under CI=true (.ci/run installs it).
func need(t *testing.T, name, hint string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (%s)", name, hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; it is required under CI=true")
	}
	t.Skip(msg + "; skipping the two-node topology test")
	return ""
}

func mailpitCandidates() []string {
	out := []string{os.Getenv("PARLEY_TEST_MAILPIT"), "mailpit"}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		out = append(out, filepath.Join(gobin, "mailpit"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(home, "go", "bin", "mailpit"))
	}
	return out
}

// startProc runs a helper program until the test ends.
func startProc(t *testing.T, name string, cmd *exec.Cmd) *logtest.Buffer {
	t.Helper()
	out := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return out
}

func waitHTTP(t *testing.T, what, url string) {
	t.Helper()
	apptest.Eventually(t, 20*time.Second, what, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// nginxConfig is deploy/nginx.conf with only its addresses changed: the
// upstream servers and the listening port. The wrapper around it keeps
// nginx's own files in dir.
func nginxConfig(t *testing.T, dir, listen string, nodes [2]string) string {
	t.Helper()
	raw, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(raw)
	for _, r := range []struct{ from, to string }{
		{"server parley1:8080 ", "server " + nodes[0] + " "},
		{"server parley2:8080 ", "server " + nodes[1] + " "},
		{"listen 80;", "listen " + listen + ";"},
		{"/var/log/nginx/access.log", dir + "/access.log"},
	} {
		if strings.Count(conf, r.from) != 1 {
			t.Fatalf("deploy/nginx.conf: want %q exactly once", r.from)
		}
		conf = strings.Replace(conf, r.from, r.to, 1)
	}
	site := filepath.Join(dir, "parley.conf")
	if err := os.WriteFile(site, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers write their temporary files in dir
	}
	main := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 256; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[3]s;
}
`, user, dir, site)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan string
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	w := &wsClient{t: t, c: c, frames: make(chan string, 256)}
	go func() {
		defer close(w.frames)
		for {
			_, b, err := c.Read(t.Context())
			if err != nil {
				return
			}
			w.frames <- string(b)
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return w
}

func (w *wsClient) send(frame string) {
	w.t.Helper()
	if err := w.c.Write(w.t.Context(), websocket.MessageText, []byte(frame)); err != nil {
		w.t.Fatal(err)
	}
}

// waitFor skips frames until one of the type holding every given text.
func (w *wsClient) waitFor(typ string, texts ...string) string {
	w.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				w.t.Fatalf("connection closed waiting for %s", typ)
			}
			if !strings.Contains(f, `"type":"`+typ+`"`) {
				continue
			}
			all := true
			for _, text := range texts {
				all = all && strings.Contains(f, text)
			}
			if all {
				return f
			}
		case <-deadline:
			w.t.Fatalf("no %s frame holding %q within 15s", typ, texts)
		}
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestTwoNodesBehindNginx runs deploy/compose.yaml's topology as processes:
// two parley serve on one PostgreSQL database behind nginx configured by
// deploy/nginx.conf, sending email to Mailpit. A chat, a forwarded email
// and its answer all go through nginx.
func TestTwoNodesBehindNginx(t *testing.T) {
	nginx := need(t, "nginx", "apt-get install nginx", "nginx", "/usr/sbin/nginx")
	mailpit := need(t, "mailpit", "go install github.com/axllent/mailpit@v1.33.1, or set PARLEY_TEST_MAILPIT", mailpitCandidates()...)
	pg := apptest.Postgres(t)
	bin := apptest.BuildParley(t)
	dir := t.TempDir()

	mpHTTP, mpSMTP := apptest.FreeAddr(t), apptest.FreeAddr(t)
	startProc(t, "mailpit", exec.Command(mailpit, "--listen", mpHTTP, "--smtp", mpSMTP,
		"--database", filepath.Join(dir, "mailpit.db"), "--disable-version-check", "--quiet"))
	mailAPI := "http://" + mpHTTP + "/api/v1"
	waitHTTP(t, "mailpit answering", mailAPI+"/messages")

	front := apptest.FreeAddr(t)
	base := "http://" + front
	const inboundSecret = "inbound-secret-for-the-topology-test"
	env := []string{
		"PARLEY_DATABASE_URL=" + pg,
		"PARLEY_PUBLIC_URL=" + base,
		"PARLEY_SECRET=topology-test-secret-0123456789",
		"PARLEY_SMTP_URL=smtp://" + mpSMTP,
		"PARLEY_MAIL_FROM=parley@example.test",
		"PARLEY_INBOUND_DOMAIN=reply.example.test",
		"PARLEY_INBOUND_SECRET=" + inboundSecret,
		"PARLEY_FORWARD_LEFT_AFTER=2s", "PARLEY_FORWARD_QUIET=1s", "PARLEY_VISITOR_GRACE=200ms",
		"PARLEY_LOG_FORMAT=json", "PARLEY_LOG_LEVEL=info",
		"PARLEY_ATTACHMENTS_DIR=" + filepath.Join(dir, "attachments"),
	}
	// As compose's migrate service: once, before the nodes.
	apptest.Run(t, bin, env, "", "migrate")
	const password = "a long enough password"
	apptest.Run(t, bin, env, password+"\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	siteKey := strings.Fields(apptest.Run(t, bin, env, "", "workspace", "list"))[2]

	var nodes [2]*apptest.Proc
	var addrs [2]string
	for i := range nodes {
		addrs[i] = apptest.FreeAddr(t)
		nodes[i] = apptest.StartServe(t, bin, append(append([]string(nil), env...), "PARLEY_HTTP_ADDR="+addrs[i]), "http://"+addrs[i])
		waitHTTP(t, fmt.Sprintf("node %d ready", i+1), "http://"+addrs[i]+"/readyz")
	}

	ngDir := t.TempDir()
	conf := nginxConfig(t, ngDir, front, addrs)
	if out, err := exec.Command(nginx, "-e", filepath.Join(ngDir, "error.log"), "-t", "-p", ngDir, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	startProc(t, "nginx", exec.Command(nginx, "-e", filepath.Join(ngDir, "error.log"), "-p", ngDir, "-c", conf, "-g", "daemon off;"))
	waitHTTP(t, "nginx passing to Parley", base+"/readyz")

	// The agent, through nginx.
	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": password}, &login)
	wsBase := "ws://" + front
	agentWS := dial(t, wsBase+"/api/v1/ws?token="+login.Token)
	apptest.Call(t, "PUT", base+"/api/v1/me/status", login.Token, map[string]string{"status": "online"}, nil)

	// A chat: the widget on one side, the agent's reply through nginx.
	const visitorEmail = "vera.visitor@example.test"
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", base+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	widget := dial(t, wsBase+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)
	widget.send(`{"type":"contact","email":"` + visitorEmail + `","name":"Vera"}`)
	widget.waitFor("contact")
	widget.send(`{"type":"message","body":"Hello from behind nginx","client_id":"n1"}`)
	ev := agentWS.waitFor("message.created", "Hello from behind nginx")
	convID := regexp.MustCompile(`"conversation_id":"([^"]+)"`).FindStringSubmatch(ev)
	if convID == nil {
		t.Fatalf("no conversation id in %s", ev)
	}
	conv := convID[1]
	reply := func(body string) {
		apptest.Call(t, "POST", base+"/api/v1/conversations/"+conv+"/messages", login.Token, map[string]string{"body": body, "kind": "reply"}, nil)
	}
	reply("Hi Vera, how can I help?")
	widget.waitFor("message", "Hi Vera, how can I help?")

	// The visitor leaves; an unread reply follows them by email, to Mailpit.
	widget.c.Close(websocket.StatusNormalClosure, "")
	reply("Here is the answer you were waiting for.")
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
			To []struct {
				Address string `json:"Address"`
			} `json:"To"`
		} `json:"messages"`
	}
	apptest.Eventually(t, 30*time.Second, "the forwarded email in Mailpit", func() bool {
		getJSON(t, mailAPI+"/messages", &list)
		return len(list.Messages) > 0
	})
	if len(list.Messages) != 1 || len(list.Messages[0].To) != 1 || list.Messages[0].To[0].Address != visitorEmail {
		t.Fatalf("Mailpit holds %+v, want one email to %s", list.Messages, visitorEmail)
	}
	resp, err := http.Get(mailAPI + "/message/" + list.Messages[0].ID + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	forwarded, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("forwarded email: %v", err)
	}
	if !bytes.Contains(raw, []byte("Here is the answer you were waiting for.")) {
		t.Fatalf("the forwarded email lacks the reply:\n%s", raw)
	}
	replyTo, err := mail.ParseAddress(forwarded.Header.Get("Reply-To"))
	if err != nil || !strings.HasSuffix(replyTo.Address, "@reply.example.test") {
		t.Fatalf("Reply-To %q: %v", forwarded.Header.Get("Reply-To"), err)
	}

	// The visitor's email answer, as a provider posts it, through nginx.
	answer := "From: Vera <" + visitorEmail + ">\r\n" +
		"To: <" + replyTo.Address + ">\r\n" +
		"Subject: Re: " + forwarded.Header.Get("Subject") + "\r\n" +
		"Message-ID: <answer-1@example.test>\r\n" +
		"In-Reply-To: " + forwarded.Header.Get("Message-ID") + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Thanks, that solves it.\r\n\r\nOn Monday, Parley wrote:\r\n> Here is the answer you were waiting for.\r\n"
	req, _ := http.NewRequest("POST", base+"/api/inbound/v1/mime", strings.NewReader(answer))
	req.Header.Set("X-Parley-Inbound-Secret", inboundSecret)
	req.Header.Set("Content-Type", "message/rfc822")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("inbound answer: %d %s", resp.StatusCode, b)
	}
	agentWS.waitFor("message.created", "Thanks, that solves it.")

	// nginx's request id reaches Parley's access log.
	req, _ = http.NewRequest("GET", base+"/readyz", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqID := resp.Header.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(reqID) {
		t.Errorf("X-Request-Id %q is not nginx's $request_id", reqID)
	}
	apptest.Eventually(t, 5*time.Second, "the request id in a node's log", func() bool {
		return strings.Contains(nodes[0].Output()+nodes[1].Output(), `"request_id":"`+reqID+`"`)
	})

	// Both nodes served requests; their logs are JSON and hold neither
	// the visitor's address nor the reply token.
	token := strings.TrimSuffix(strings.TrimPrefix(replyTo.Address, "reply+"), "@reply.example.test")
	sent := 0
	for i, n := range nodes {
		requests := 0
		sc := bufio.NewScanner(strings.NewReader(n.Output()))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("node %d: log line %q is not JSON", i+1, sc.Text())
				continue
			}
			switch line["msg"] {
			case "http request":
				requests++
			case "email sent":
				sent++
				if line["to"] != "v***@example.test" {
					t.Errorf("node %d: email sent to %v, want the masked address", i+1, line["to"])
				}
			}
		}
		if requests == 0 {
			t.Errorf("node %d served no request through nginx", i+1)
		}
		for _, secret := range []string{visitorEmail, token, sess.VisitorToken, login.Token} {
			if strings.Contains(n.Output(), secret) {
				t.Errorf("node %d logged %q", i+1, secret)
			}
		}
	}
	if sent != 1 {
		t.Errorf("%d \"email sent\" lines, want 1", sent)
	}

	// nginx's access log holds the requests, not what opens the chat: the
	// widget's token in query strings, an emailed link in its path.
	const link = "a-signed-link-that-opens-a-chat"
	if resp, err := http.Get(base + "/chat/" + link); err == nil {
		resp.Body.Close()
	}
	var access string
	apptest.Eventually(t, 5*time.Second, "the link's request in nginx's access log", func() bool {
		b, _ := os.ReadFile(filepath.Join(ngDir, "access.log"))
		access = string(b)
		return strings.Contains(access, "GET /chat/... ")
	})
	if !strings.Contains(access, "GET /api/widget/v1/ws ") {
		t.Error("nginx's access log has no widget connection")
	}
	for _, secret := range []string{link, sess.VisitorToken, token} {
		if strings.Contains(access, secret) {
			t.Errorf("nginx's access log holds %q", secret)
		}
	}
}

// TestComposeConfig validates deploy/compose.yaml with Docker's own parser
// where Docker Compose is installed.
func TestComposeConfig(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Skipf("docker compose is not installed (%v): deploy/compose.yaml not validated", err)
	}
	cmd := exec.Command("docker", "compose", "-f", "compose.yaml", "config", "--quiet")
	cmd.Env = append(os.Environ(), "PARLEY_SECRET=x", "PARLEY_INBOUND_SECRET=y")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
}

// TestDockerfileToolchain keeps the Dockerfile's builder on the toolchain
// go.mod asks for.
func TestDockerfileToolchain(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod names no toolchain")
	}
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if want := "FROM golang:" + string(m[1]) + " AS build"; !bytes.Contains(df, []byte(want)) {
		t.Errorf("Dockerfile lacks %q", want)
	}
	for _, want := range []string{"CGO_ENABLED=0", "USER nonroot"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
