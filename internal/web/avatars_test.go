package web_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// putAvatar sends a picture to PUT /api/v1/agents/{id}/avatar.
func putAvatar(t *testing.T, s *apptest.Server, token, agentID, filename string, data []byte) (int, []byte) {
	t.Helper()
	status, raw, _ := sendFile(t, "PUT", s.URL+"/api/v1/agents/"+agentID+"/avatar", token, filename, data)
	return status, raw
}

func gifBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 8, 8), []color.Color{color.White, color.Black})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/avatars/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// widgetAuthors lists the avatar_url of each agent reply the visitor sees.
func widgetAuthors(t *testing.T, s *apptest.Server, visitorToken string) []*string {
	t.Helper()
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/widget/v1/messages?visitor_token="+visitorToken, "", nil, http.StatusOK, &out)
	var urls []*string
	for _, m := range out.Messages {
		if m.Author.Kind == model.AuthorAgent {
			urls = append(urls, m.Author.AvatarURL)
		}
	}
	return urls
}

// An agent's picture: uploaded, served to anyone with the sniffed type and
// a long cache, shown on the agent and beside their replies to the widget,
// replaced under a new URL, removed.
func TestAvatarUploadServeRemove(t *testing.T) {
	s, ann, sess, first := chatting(t)
	s.Do("POST", "/api/v1/conversations/"+first.ConversationID+"/messages", ann.Token, map[string]string{"body": "Hello!", "kind": "reply"}, http.StatusCreated, nil)
	if urls := widgetAuthors(t, s, sess.VisitorToken); len(urls) != 1 || urls[0] != nil {
		t.Fatalf("before any picture, the reply's avatar_url = %v, want absent", urls)
	}

	pic := pngBytes(t, 48, 48)
	status, raw := putAvatar(t, s, ann.Token, ann.ID, "me.png", pic)
	if status != http.StatusOK {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var got model.Agent
	json.Unmarshal(raw, &got)
	if got.AvatarURL == nil || !strings.HasPrefix(*got.AvatarURL, s.URL+"/api/widget/v1/avatars/") {
		t.Fatalf("avatar_url = %v", got.AvatarURL)
	}
	url := *got.AvatarURL

	// Anyone loads it: no token, the sniffed type, never sniffed again,
	// cached for good since its URL changes with the picture.
	resp, body := getFile(t, url, "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pic) {
		t.Fatalf("GET picture: %d, %d bytes", resp.StatusCode, len(body))
	}
	for h, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "public, max-age=31536000, immutable"} {
		if resp.Header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, resp.Header.Get(h), want)
		}
	}

	// The agent, the agents list and the widget's messages carry it.
	var me struct {
		AvatarURL *string `json:"avatar_url"`
	}
	s.Do("GET", "/api/v1/me", ann.Token, nil, http.StatusOK, &me)
	if me.AvatarURL == nil || *me.AvatarURL != url {
		t.Errorf("me.avatar_url = %v, want %s", me.AvatarURL, url)
	}
	var list struct {
		Agents []model.Agent `json:"agents"`
	}
	s.Do("GET", "/api/v1/agents", ann.Token, nil, http.StatusOK, &list)
	if len(list.Agents) != 1 || list.Agents[0].AvatarURL == nil || *list.Agents[0].AvatarURL != url {
		t.Errorf("agents = %+v", list.Agents)
	}
	if urls := widgetAuthors(t, s, sess.VisitorToken); len(urls) != 1 || urls[0] == nil || *urls[0] != url {
		t.Errorf("the reply's avatar_url = %v, want %s", urls, url)
	}

	// A new picture gets a new URL; the old one is gone.
	status, raw = putAvatar(t, s, ann.Token, ann.ID, "me.gif", gifBytes(t))
	if status != http.StatusOK {
		t.Fatalf("replace: %d %s", status, raw)
	}
	json.Unmarshal(raw, &got)
	if got.AvatarURL == nil || *got.AvatarURL == url {
		t.Fatalf("replaced avatar_url = %v", got.AvatarURL)
	}
	if resp, _ := getFile(t, url, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("old picture: %d, want 404", resp.StatusCode)
	}
	if resp, _ := getFile(t, *got.AvatarURL, ""); resp.Header.Get("Content-Type") != "image/gif" {
		t.Errorf("new picture served as %q", resp.Header.Get("Content-Type"))
	}

	// Removed: initials again everywhere.
	s.Do("DELETE", "/api/v1/agents/"+ann.ID+"/avatar", ann.Token, nil, http.StatusNoContent, nil)
	s.Do("GET", "/api/v1/me", ann.Token, nil, http.StatusOK, &me)
	if me.AvatarURL != nil {
		t.Errorf("after removal avatar_url = %s", *me.AvatarURL)
	}
	if !strings.Contains(string(s.Do("GET", "/api/v1/me", ann.Token, nil, http.StatusOK, nil)), `"avatar_url":null`) {
		t.Error(`me lacks "avatar_url":null`)
	}
	if resp, _ := getFile(t, *got.AvatarURL, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed picture: %d, want 404", resp.StatusCode)
	}
	if urls := widgetAuthors(t, s, sess.VisitorToken); len(urls) != 1 || urls[0] != nil {
		t.Errorf("after removal the reply's avatar_url = %v", urls)
	}
}

// Bad pictures and callers are refused with the uploads' codes, and the
// picture the agent had stays.
func TestAvatarRefusals(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann")
	bob := s.AddAgent("bob@example.com", "Bob")
	other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	olga := s.AddAgent("olga@example.com", "Olga", other.ID)

	pic := pngBytes(t, 16, 16)
	if status, raw := putAvatar(t, s, ann.Token, ann.ID, "ann.png", pic); status != http.StatusOK {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var before model.Agent
	s.Do("GET", "/api/v1/me", ann.Token, nil, http.StatusOK, &before)

	big := append(pngBytes(t, 8, 8), make([]byte, 2<<20)...)
	tests := []struct {
		name, token, agent, filename string
		data                         []byte
		status                       int
		code                         string
	}{
		{"SVG with a script", ann.Token, ann.ID, "me.svg", fixture(t, "script.svg"), 415, "unsupported_type"},
		{"SVG named .png", ann.Token, ann.ID, "me.png", fixture(t, "script.svg"), 415, "unsupported_type"},
		{"executable renamed .png", ann.Token, ann.ID, "me.png", fixture(t, "program.exe"), 415, "unsupported_type"},
		{"a PDF: allowed as a file, not as a picture", ann.Token, ann.ID, "me.pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 415, "unsupported_type"},
		{"PNG named .jpg", ann.Token, ann.ID, "me.jpg", pic, 415, "unsupported_type"},
		{"0 bytes", ann.Token, ann.ID, "me.png", nil, 400, "empty_file"},
		{"2 MiB", ann.Token, ann.ID, "me.png", big, 413, "too_large"},
		{"an agent changing another's", bob.Token, ann.ID, "me.png", pic, 403, "forbidden"},
		{"another workspace's agent", olga.Token, ann.ID, "me.png", pic, 404, "not_found"},
		{"an admin and another workspace's agent", ann.Token, olga.ID, "me.png", pic, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := putAvatar(t, s, tt.token, tt.agent, tt.filename, tt.data)
			if status != tt.status || apptest.ErrorCode(raw) != tt.code {
				t.Fatalf("%d %s, want %d %s", status, raw, tt.status, tt.code)
			}
		})
	}
	var after model.Agent
	s.Do("GET", "/api/v1/me", ann.Token, nil, http.StatusOK, &after)
	if after.AvatarURL == nil || *after.AvatarURL != *before.AvatarURL {
		t.Fatalf("after refusals avatar_url = %v, want %s", after.AvatarURL, *before.AvatarURL)
	}
	resp, body := getFile(t, *after.AvatarURL, "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pic) {
		t.Fatalf("picture after refusals: %d", resp.StatusCode)
	}

	s.Do("DELETE", "/api/v1/agents/"+ann.ID+"/avatar", olga.Token, nil, http.StatusNotFound, nil)
	s.Do("DELETE", "/api/v1/agents/"+ann.ID+"/avatar", bob.Token, nil, http.StatusForbidden, nil)
	s.Do("GET", "/api/widget/v1/avatars/nope", "", nil, http.StatusNotFound, nil)

	// An admin may take down another agent's picture.
	if status, raw := putAvatar(t, s, bob.Token, bob.ID, "bob.png", pic); status != http.StatusOK {
		t.Fatalf("bob's own upload: %d %s", status, raw)
	}
	s.Do("DELETE", "/api/v1/agents/"+bob.ID+"/avatar", ann.Token, nil, http.StatusNoContent, nil)
}
