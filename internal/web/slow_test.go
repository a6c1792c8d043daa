package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
)

// A body trickled a byte at a time used to keep its request (and its
// descriptor) open as long as the client liked (45 s and more): now the
// body's read deadline cuts it with 408.
func TestTrickledBodyIsCut(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_HTTP_BODY_TIMEOUT": "1s"})
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/widget/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	// The whole body would take 10,000 s at this pace; the answer must
	// come long before (the bound here is only the test's patience).
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || apptest.ErrorCode(body) != "request_timeout" {
		t.Fatalf("trickled body: %d %s", resp.StatusCode, body)
	}
}

// 1,100 slow connections used to take every descriptor of the process:
// accept failed, and /healthz and login timed out. Here parley serve runs
// with 256 descriptors and 400 clients that never finish their headers
// (each reconnecting when dropped): /healthz and login still answer, and a
// new widget connection is told to come back later.
func TestSlowClientsDoNotStarveAgents(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh to lower the descriptor limit")
	}
	bin := apptest.BuildParley(t)
	dir := t.TempDir()
	addr := apptest.FreeAddr(t)
	url := "http://" + addr
	env := append(os.Environ(),
		"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(dir, "parley.db"),
		"PARLEY_HTTP_ADDR="+addr, "PARLEY_PUBLIC_URL="+url,
		"PARLEY_SECRET=slow-clients-test-secret-0123",
		"PARLEY_LOG_LEVEL=warn", "PARLEY_RATE_LIMITS=off")
	apptest.Run(t, bin, env, "correct horse battery\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	// A widget token to try once the server is full.
	ws := strings.Fields(apptest.Run(t, bin, env, "", "workspace", "list"))
	siteKey := ws[len(ws)-1]

	limited := filepath.Join(dir, "parley-limited")
	script := "#!/bin/sh\nulimit -n 256 || exit 1\nexec " + bin + " \"$@\"\n"
	if err := os.WriteFile(limited, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	apptest.StartServe(t, limited, env, url)
	hc := &http.Client{Timeout: 8 * time.Second}
	resp, err := hc.Post(url+"/api/widget/v1/session", "application/json", strings.NewReader(`{"site_key":"`+siteKey+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		VisitorToken string `json:"visitor_token"`
	}
	decodeJSON(t, resp, &tok)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 400 {
		go func() {
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
				go func() { <-ctx.Done(); c.Close() }()
				_, _ = c.Read(make([]byte, 1)) // until the server drops it
				c.Close()
			}
		}()
	}
	// The slow clients fill the server: a new widget connection is told
	// to come back later.
	busy := func() bool {
		wctx, wcancel := context.WithTimeout(ctx, 8*time.Second)
		defer wcancel()
		c, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(url, "http")+"/api/widget/v1/ws?visitor_token="+tok.VisitorToken, nil)
		if err != nil {
			return false
		}
		defer c.CloseNow()
		_, raw, _ := c.Read(wctx)
		return strings.Contains(string(raw), `"server_busy"`) && strings.Contains(string(raw), `"retry_after"`)
	}
	apptest.Eventually(t, 20*time.Second, "a widget connection refused with server_busy", busy)

	for i := range 5 {
		resp, err := hc.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("healthz %d under slow clients: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz %d: %d", i, resp.StatusCode)
		}
		resp, err = hc.Post(url+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"ann@example.com","password":"correct horse battery"}`))
		if err != nil {
			t.Fatalf("login %d under slow clients: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login %d: %d", i, resp.StatusCode)
		}
	}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, v) != nil {
		t.Fatalf("%s: %d %s", resp.Request.URL.Path, resp.StatusCode, raw)
	}
}
