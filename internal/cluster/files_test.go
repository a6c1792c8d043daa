package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
)

// postFile uploads data as the multipart part "file" and decodes the
// Attachment answered.
func postFile(t *testing.T, u, token, name string, data []byte) (status int, att struct{ ID, URL string }) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	p, _ := mw.CreateFormFile("file", name)
	p.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", u, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&att)
	return resp.StatusCode, att
}

func fetch(t *testing.T, u, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// A file uploaded on node A is served by node B, both ways: its bytes live
// in PostgreSQL, not on a node's disk.
func TestFilesServedByEveryNode(t *testing.T) {
	cl := startCluster(t)
	a, b := cl.a, cl.b
	apptest.Call(t, "PUT", b.url+"/api/v1/me/status", cl.token, map[string]string{"status": "online"}, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
	tok := url.QueryEscape(sess.VisitorToken)
	data := bytes.Repeat([]byte("line of a log file\n"), 50000) // ~950 KB
	status, att := postFile(t, a.url+"/api/widget/v1/uploads?visitor_token="+tok, "", "server.log", data)
	if status != http.StatusCreated {
		t.Fatalf("upload on A: %d", status)
	}
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	apptest.Call(t, "POST", b.url+"/api/widget/v1/messages", "", map[string]any{"visitor_token": sess.VisitorToken, "body": "my log", "client_id": "f1", "attachment_ids": []string{att.ID}}, &m)
	if status, got := fetch(t, b.url+"/api/v1/attachments/"+att.ID, cl.token); status != 200 || !bytes.Equal(got, data) {
		t.Fatalf("agent download on B: %d, %d bytes of %d", status, len(got), len(data))
	}
	if status, got := fetch(t, b.url+"/api/widget/v1/attachments/"+att.ID+"?visitor_token="+tok, ""); status != 200 || !bytes.Equal(got, data) {
		t.Fatalf("visitor download on B: %d", status)
	}

	// The agent's file, uploaded on B, downloaded by the visitor on A.
	pdf := []byte("%PDF-1.4\n%%EOF\n")
	status, att = postFile(t, b.url+"/api/v1/conversations/"+m.ConversationID+"/uploads", cl.token, "quote.pdf", pdf)
	if status != http.StatusCreated {
		t.Fatalf("agent upload on B: %d", status)
	}
	apptest.Call(t, "POST", b.url+"/api/v1/conversations/"+m.ConversationID+"/messages", cl.token, map[string]any{"body": "quote attached", "attachment_ids": []string{att.ID}}, nil)
	if status, got := fetch(t, a.url+"/api/widget/v1/attachments/"+att.ID+"?visitor_token="+tok, ""); status != 200 || !bytes.Equal(got, pdf) {
		t.Fatalf("visitor download on A: %d", status)
	}
}
