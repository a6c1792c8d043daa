package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// centrifugoVersion is the release compared with.
const centrifugoVersion = "v6.9.1"

const centrifugoAPIKey = "bench-api-key"

// centrifugo runs Centrifugo with an HTTP API key and anonymous clients
// allowed to connect without a token and to subscribe to any channel
// without a namespace; everything else is its default (in-memory broker,
// no history, no presence).
type centrifugo struct {
	bin     string
	cmd     *exec.Cmd
	base    string
	hc      *http.Client
	stopped chan struct{}
}

func installCentrifugo(ctx context.Context, cfg config) (*centrifugo, error) {
	bin := cfg.centrifugo
	if bin == "" {
		dir, err := filepath.Abs("bin")
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(dir, "centrifugo")
		if _, err := os.Stat(bin); err != nil {
			logf("installing Centrifugo %s into %s", centrifugoVersion, dir)
			cmd := exec.CommandContext(ctx, "go", "install", "github.com/centrifugal/centrifugo/v6@"+centrifugoVersion)
			cmd.Env = append(os.Environ(), "GOBIN="+dir)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("install Centrifugo: %w", err)
			}
		}
	}
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("run %s version: %w", bin, err)
	}
	logf("%s (module github.com/centrifugal/centrifugo/v6@%s; go install leaves the version string unset)", bytes.TrimSpace(out), centrifugoVersion)
	return &centrifugo{bin: bin}, nil
}

func (c *centrifugo) name() string { return "centrifugo" }

func (c *centrifugo) start(ctx context.Context, dir string) (int, error) {
	addr := freeAddr()
	host, port, _ := net.SplitHostPort(addr)
	portN, _ := strconv.Atoi(port)
	conf := map[string]any{
		"http_server": map[string]any{"address": host, "port": portN},
		"http_api":    map[string]any{"key": centrifugoAPIKey},
		"client":      map[string]any{"allow_anonymous_connect_without_token": true},
		"channel": map[string]any{"without_namespace": map[string]any{
			"allow_subscribe_for_anonymous": true, "allow_subscribe_for_client": true}},
		"log":    map[string]any{"level": "warn"},
		"health": map[string]any{"enabled": true},
	}
	raw, _ := json.MarshalIndent(conf, "", "  ")
	confPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(confPath, raw, 0o600); err != nil {
		return 0, err
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return 0, err
	}
	c.cmd = exec.Command(c.bin, "--config", confPath)
	c.cmd.Dir, c.cmd.Stdout, c.cmd.Stderr = dir, logFile, logFile
	if err := c.cmd.Start(); err != nil {
		return 0, fmt.Errorf("start Centrifugo: %w", err)
	}
	c.stopped = make(chan struct{})
	go func() { _ = c.cmd.Wait(); logFile.Close(); close(c.stopped) }()
	c.base = "http://" + addr
	c.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	if err := waitHTTP(ctx, c.hc, c.base+"/health", c.stopped); err != nil {
		return 0, err
	}
	return c.cmd.Process.Pid, nil
}

func (c *centrifugo) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.stopped:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.stopped
		}
	}
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
	c.cmd = nil
}

// open connects and subscribes in one frame (two commands, newline
// separated, as Centrifugo's JSON protocol allows) and waits for both
// replies.
func (c *centrifugo) open(ctx context.Context, i int, _ *client) (*client, error) {
	conn, _, err := websocket.Dial(ctx, "ws"+c.base[len("http"):]+"/connection/websocket", &websocket.DialOptions{HTTPClient: c.hc})
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	ch := "c" + strconv.Itoa(i)
	cmds := `{"id":1,"connect":{"name":"peers"}}` + "\n" + `{"id":2,"subscribe":{"channel":"` + ch + `"}}`
	if err := conn.Write(ctx, websocket.MessageText, []byte(cmds)); err != nil {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("connect: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for replied := 0; replied < 2; {
		_, raw, err := conn.Read(ctx)
		if err != nil {
			_ = conn.CloseNow()
			return nil, fmt.Errorf("connect and subscribe: %w", err)
		}
		for _, line := range bytes.Split(raw, []byte("\n")) {
			var r struct {
				ID    int             `json:"id"`
				Error json.RawMessage `json:"error"`
			}
			if json.Unmarshal(line, &r) != nil || r.ID == 0 {
				continue
			}
			if r.Error != nil {
				_ = conn.CloseNow()
				return nil, fmt.Errorf("command %d refused: %s", r.ID, r.Error)
			}
			replied++
		}
	}
	return &client{conn: conn, key: ch}, nil
}

func (c *centrifugo) prepare(context.Context, *client) error { return nil }

func (c *centrifugo) publish(ctx context.Context, cl *client, seq int) error {
	body := `{"channel":"` + cl.key + `","data":{"seq":` + strconv.Itoa(seq) + `}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/publish", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", centrifugoAPIKey)
	var out struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := doJSON(c.hc, req, &out); err != nil {
		return err
	}
	if out.Error != nil {
		return fmt.Errorf("publish: %d %s", out.Error.Code, out.Error.Message)
	}
	return nil
}

func (c *centrifugo) seqOf(frame []byte) (int, bool) {
	if !bytes.Contains(frame, []byte(`"pub"`)) {
		return 0, false
	}
	var f struct {
		Push struct {
			Pub struct {
				Data struct {
					Seq *int `json:"seq"`
				} `json:"data"`
			} `json:"pub"`
		} `json:"push"`
	}
	if json.Unmarshal(frame, &f) != nil || f.Push.Pub.Data.Seq == nil {
		return 0, false
	}
	return *f.Push.Pub.Data.Seq, true
}

// pong answers the server's ping (an empty command) with an empty one, as
// every Centrifugo client must or be disconnected.
func (c *centrifugo) pong(ctx context.Context, cl *client, frame []byte) bool {
	if !bytes.Equal(bytes.TrimSpace(frame), []byte("{}")) {
		return false
	}
	_ = cl.conn.Write(ctx, websocket.MessageText, []byte("{}"))
	return true
}
