// Package metatest helps test the Messenger/Instagram channel: a fake of
// Meta's Graph API on loopback that checks every request the way Meta
// documents it, Meta's documented webhook payloads (testdata/), and a real
// Parley with the channel wired to the fake.
package metatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the Graph API version the fake serves.
const Version = "v21.0"

// Page is a Facebook Page the fake knows, with its access token.
type Page struct {
	ID          string
	Name        string
	Token       string
	AppSecret   string // checked against appsecret_proof
	InstagramID string
	// Expired makes every call with the token fail as an expired session
	// (OAuthException 190/463).
	Expired bool
}

// Send is a Send API request the fake accepted.
type Send struct {
	PageID        string // the id in the path: /{version}/{page-id}/messages
	Recipient     string
	Text          string
	MessagingType string
	Tag           string
	MessageID     string // the message_id the fake answered
	At            time.Time
}

// Graph is the fake Graph API.
type Graph struct {
	URL string

	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	pages       map[string]*Page             // page id → page
	profiles    map[string]map[string]string // person id → fields
	sends       []Send
	calls       map[string]int // "METHOD kind" → count
	fail        []canned       // answers for the next send attempts
	noSubscribe bool           // subscribing the app to a Page's messages fails
	arrived     chan struct{}
	seq         int
}

type canned struct {
	status int
	body   string
	header map[string]string
}

// StartGraph starts a fake Graph API until the test ends.
func StartGraph(t testing.TB) *Graph {
	t.Helper()
	g := &Graph{t: t, pages: map[string]*Page{}, profiles: map[string]map[string]string{}, calls: map[string]int{},
		arrived: make(chan struct{}, 1024)}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL
	t.Cleanup(g.srv.Close)
	return g
}

// AddPage makes a Page known.
func (g *Graph) AddPage(p Page) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cp := p
	g.pages[p.ID] = &cp
}

// ExpireToken makes the Page's token expired (or valid again).
func (g *Graph) ExpireToken(pageID string, expired bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pages[pageID].Expired = expired
}

// FailSubscribe makes subscribing the app to a Page's messages fail (a
// permission the app lacks), or work again.
func (g *Graph) FailSubscribe(fail bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.noSubscribe = fail
}

// SetProfile sets what the profile lookup of a person answers.
func (g *Graph) SetProfile(personID string, fields map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.profiles[personID] = fields
}

// FailSends makes the next n send attempts answer status with body (a
// Graph error document), and the given headers.
func (g *Graph) FailSends(n, status int, body string, header map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for range n {
		g.fail = append(g.fail, canned{status: status, body: body, header: header})
	}
}

// Sends returns the accepted Send API requests.
func (g *Graph) Sends() []Send {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Send(nil), g.sends...)
}

// Calls counts requests by "METHOD kind": "POST messages", "GET profile",
// "GET page", "POST subscribed_apps".
func (g *Graph) Calls(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[key]
}

// WaitSends waits until n sends were accepted.
func (g *Graph) WaitSends(t testing.TB, n int, timeout time.Duration) []Send {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if s := g.Sends(); len(s) >= n {
			return s
		}
		select {
		case <-g.arrived:
		case <-deadline:
			t.Fatalf("fake Graph API: %d sends after %v, want %d", len(g.Sends()), timeout, n)
		}
	}
}

// ErrorBody is Meta's error document.
func ErrorBody(message, typ string, code, subcode int) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": typ, "code": code, "error_subcode": subcode, "fbtrace_id": "AbCdEf123_x",
	}})
	return string(b)
}

// Meta's documented error answers used by the tests.
var (
	ExpiredToken = ErrorBody("Error validating access token: Session has expired on Friday, 01-Aug-25 10:00:00 PDT. The current time is Saturday, 02-Aug-25 10:00:00 PDT.", "OAuthException", 190, 463)
	InvalidToken = ErrorBody("Invalid OAuth access token - Cannot parse access token", "OAuthException", 190, 0)
	RateLimited  = ErrorBody("(#613) Calls to this api have exceeded the rate limit.", "OAuthException", 613, 0)
	OutOfWindow  = ErrorBody("(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview", "OAuthException", 10, 2018278)
)

func (g *Graph) errorf(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	g.t.Errorf("fake Graph API: %s", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, ErrorBody("(#100) "+msg, "OAuthException", 100, 0))
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serve routes /{version}/{id}[/{edge}].
func (g *Graph) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != Version {
		g.errorf(w, http.StatusBadRequest, "path %q does not start with /%s/{id}", r.URL.Path, Version)
		return
	}
	q := r.URL.Query()
	tok := q.Get("access_token")
	if tok == "" {
		g.errorf(w, http.StatusBadRequest, "%s %s without access_token", r.Method, r.URL.Path)
		return
	}
	g.mu.Lock()
	var page *Page
	for _, p := range g.pages {
		if p.Token == tok {
			page = p
		}
	}
	var expired bool
	var secret string
	if page != nil {
		cp := *page
		page, expired, secret = &cp, cp.Expired, cp.AppSecret
	}
	noSubscribe := g.noSubscribe
	g.mu.Unlock()
	if page == nil {
		answer(w, http.StatusBadRequest, json.RawMessage(InvalidToken))
		return
	}
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(tok))
		if q.Get("appsecret_proof") != hex.EncodeToString(mac.Sum(nil)) {
			g.errorf(w, http.StatusBadRequest, "appsecret_proof missing or wrong")
			return
		}
	}

	id := parts[1]
	edge := ""
	if len(parts) > 2 {
		edge = strings.Join(parts[2:], "/")
	}
	switch {
	case r.Method == http.MethodPost && edge == "messages":
		g.count("POST messages")
		if expired {
			answer(w, http.StatusBadRequest, json.RawMessage(ExpiredToken))
			return
		}
		g.send(w, r, page, id)
	case r.Method == http.MethodPost && edge == "subscribed_apps":
		g.count("POST subscribed_apps")
		if noSubscribe {
			answer(w, http.StatusForbidden, json.RawMessage(ErrorBody("(#200) The app lacks the pages_messaging permission", "OAuthException", 200, 0)))
			return
		}
		if id != page.ID {
			g.errorf(w, http.StatusBadRequest, "subscribed_apps of %s with the token of page %s", id, page.ID)
			return
		}
		if f := q.Get("subscribed_fields"); !strings.Contains(f, "messages") {
			g.errorf(w, http.StatusBadRequest, "subscribed_fields %q does not include messages", f)
			return
		}
		answer(w, http.StatusOK, map[string]bool{"success": true})
	case r.Method == http.MethodGet && edge == "" && id == page.ID:
		g.count("GET page")
		if expired {
			answer(w, http.StatusBadRequest, json.RawMessage(ExpiredToken))
			return
		}
		if q.Get("fields") != "name" {
			g.errorf(w, http.StatusBadRequest, "page lookup with fields %q", q.Get("fields"))
			return
		}
		answer(w, http.StatusOK, map[string]string{"name": page.Name, "id": page.ID})
	case r.Method == http.MethodGet && edge == "":
		g.count("GET profile")
		if expired {
			answer(w, http.StatusBadRequest, json.RawMessage(ExpiredToken))
			return
		}
		g.profile(w, r, id)
	default:
		g.errorf(w, http.StatusBadRequest, "unexpected %s %s", r.Method, r.URL.Path)
	}
}

func (g *Graph) count(key string) {
	g.mu.Lock()
	g.calls[key]++
	g.mu.Unlock()
}

// profile answers GET /{psid}?fields=first_name,last_name,profile_pic
// (Messenger) or ?fields=name,username,profile_pic (Instagram).
func (g *Graph) profile(w http.ResponseWriter, r *http.Request, id string) {
	fields := r.URL.Query().Get("fields")
	switch fields {
	case "first_name,last_name,profile_pic", "name,username,profile_pic":
	default:
		g.errorf(w, http.StatusBadRequest, "profile lookup with fields %q", fields)
		return
	}
	g.mu.Lock()
	p, ok := g.profiles[id]
	g.mu.Unlock()
	if !ok {
		answer(w, http.StatusBadRequest, json.RawMessage(ErrorBody("(#100) No profile available for that user.", "OAuthException", 100, 2018218)))
		return
	}
	out := map[string]string{"id": id}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := p[f]; ok {
			out[f] = v
		}
	}
	answer(w, http.StatusOK, out)
}

// send checks a Send API request as Meta documents it: JSON body
// {"recipient":{"id"},"message":{"text"},"messaging_type"[,"tag"]}, on the
// Page's own /messages edge.
func (g *Graph) send(w http.ResponseWriter, r *http.Request, page *Page, id string) {
	if id != page.ID {
		g.errorf(w, http.StatusBadRequest, "POST /%s/messages with the token of page %s", id, page.ID)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		g.errorf(w, http.StatusBadRequest, "Content-Type %q, want application/json", r.Header.Get("Content-Type"))
		return
	}
	var body struct {
		Recipient *struct {
			ID string `json:"id"`
		} `json:"recipient"`
		Message *struct {
			Text string `json:"text"`
		} `json:"message"`
		MessagingType string `json:"messaging_type"`
		Tag           string `json:"tag"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		g.errorf(w, http.StatusBadRequest, "send body: %v", err)
		return
	}
	switch {
	case body.Recipient == nil || body.Recipient.ID == "":
		g.errorf(w, http.StatusBadRequest, "send without recipient.id")
		return
	case body.Message == nil || body.Message.Text == "":
		g.errorf(w, http.StatusBadRequest, "send without message.text")
		return
	case body.MessagingType == "RESPONSE" || body.MessagingType == "UPDATE":
		if body.Tag != "" {
			g.errorf(w, http.StatusBadRequest, "tag %q with messaging_type %s", body.Tag, body.MessagingType)
			return
		}
	case body.MessagingType == "MESSAGE_TAG":
		if body.Tag != "HUMAN_AGENT" {
			g.errorf(w, http.StatusBadRequest, "messaging_type MESSAGE_TAG with tag %q", body.Tag)
			return
		}
	default:
		g.errorf(w, http.StatusBadRequest, "messaging_type %q", body.MessagingType)
		return
	}
	if n := len([]rune(body.Message.Text)); n > 2000 {
		g.errorf(w, http.StatusBadRequest, "text of %d characters (Messenger takes 2000)", n)
		return
	}

	g.mu.Lock()
	if len(g.fail) > 0 {
		c := g.fail[0]
		g.fail = g.fail[1:]
		g.mu.Unlock()
		for k, v := range c.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		io.WriteString(w, c.body)
		return
	}
	g.seq++
	mid := fmt.Sprintf("m_fake%06d-AbCdEfGhIjKlMnOp", g.seq)
	g.sends = append(g.sends, Send{PageID: id, Recipient: body.Recipient.ID, Text: body.Message.Text,
		MessagingType: body.MessagingType, Tag: body.Tag, MessageID: mid, At: time.Now()})
	g.mu.Unlock()
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	answer(w, http.StatusOK, map[string]string{"recipient_id": body.Recipient.ID, "message_id": mid})
}

//go:embed testdata/*.json
var payloads embed.FS

// Payload returns one of Meta's documented webhook payloads from testdata/
// with its {{PLACEHOLDERS}} filled (values are JSON-escaped; TIME and
// WATERMARK are numbers).
func Payload(t testing.TB, name string, vars map[string]string) []byte {
	t.Helper()
	raw, err := payloads.ReadFile("testdata/" + name + ".json")
	if err != nil {
		t.Fatalf("payload %s: %v", name, err)
	}
	s := string(raw)
	for k, v := range vars {
		esc, _ := json.Marshal(v)
		s = strings.ReplaceAll(s, "{{"+k+"}}", strings.Trim(string(esc), `"`))
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("payload %s: placeholder left at %q", name, s[i:min(len(s), i+20)])
	}
	if !json.Valid([]byte(s)) {
		t.Fatalf("payload %s is not valid JSON after filling: %s", name, s)
	}
	return []byte(s)
}

// Millis is a time as Meta's webhook timestamps have it.
func Millis(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
