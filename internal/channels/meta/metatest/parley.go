package metatest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/channels/meta"
)

// Parley is a real Parley (apptest) whose Messenger/Instagram channel talks
// to a fake Graph API.
type Parley struct {
	*apptest.Server
	Graph *Graph
	Meta  *meta.Service
}

// Secret is apptest's PARLEY_SECRET, from which the channel's key derives.
const Secret = "test-secret-0123456789abcdef"

// Start runs Parley with the channel pointed at a new fake Graph API. env
// adds PARLEY_* variables. When the application already wires the channel
// (from PARLEY_META_GRAPH_URL), that one is used; otherwise the test wires
// one itself, with fast retries.
func Start(t testing.TB, env map[string]string) *Parley {
	t.Helper()
	g := StartGraph(t)
	vars := map[string]string{
		"PARLEY_SECRET":             Secret,
		"PARLEY_META_GRAPH_URL":     g.URL,
		"PARLEY_META_GRAPH_VERSION": Version,
	}
	for k, v := range env {
		vars[k] = v
	}
	s := apptest.Start(t, vars)
	p := &Parley{Server: s, Graph: g}
	if s.App.Meta != nil {
		p.Meta = s.App.Meta
		return p
	}
	p.Meta = Wire(t, s, g, meta.Options{})
	return p
}

// Wire builds a channel on s's database and chat service against g, makes
// it the chat service's sender and runs it until the test ends. Zero
// options get test values (fast retries).
func Wire(t testing.TB, s *apptest.Server, g *Graph, opts meta.Options) *meta.Service {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = []byte(Secret)
	}
	if opts.GraphURL == "" {
		opts.GraphURL, opts.GraphVersion = g.URL, Version
	}
	if opts.RetryBase == 0 {
		opts.RetryBase, opts.RetryMax = 50*time.Millisecond, 200*time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = s.App.Log
	}
	m := meta.New(s.App.DB, s.App.Chat, opts)
	s.App.Chat.SetChannelSender(m)
	RunUntilCleanup(t, m)
	return m
}

// RunUntilCleanup runs the channel's workers until the test ends (before
// the server stops: cleanups run last-in first-out).
func RunUntilCleanup(t testing.TB, m *meta.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// Connect connects a Page to the server's default workspace through the
// agent API, and makes it known to the fake Graph API.
func (p *Parley) Connect(t testing.TB, agentToken string, page Page, verifyToken string) meta.Account {
	t.Helper()
	p.Graph.AddPage(page)
	var acct meta.Account
	p.Do("PUT", "/api/v1/channels/meta", agentToken, meta.ConnectInput{PageID: page.ID, PageToken: page.Token,
		AppSecret: page.AppSecret, VerifyToken: verifyToken, InstagramID: page.InstagramID}, http.StatusOK, &acct)
	return acct
}

// PostWebhook delivers body to the webhook as Meta would, signed with
// appSecret ("" sends no signature), and returns the status and answer.
func (p *Parley) PostWebhook(t testing.TB, body []byte, appSecret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", p.URL+meta.WebhookPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if appSecret != "" {
		req.Header.Set("X-Hub-Signature-256", meta.Sign(body, appSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
