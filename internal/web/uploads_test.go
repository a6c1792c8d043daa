package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// pngBytes is a real w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody is a multipart/form-data body with one part named field.
func multipartBody(t testing.TB, field, filename string, data []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	// Written by hand: CreateFormFile would escape the name, and the
	// server must cope with any name a client sends.
	disp := `form-data; name="` + field + `"; filename="` + strings.ReplaceAll(filename, `"`, `\"`) + `"`
	if strings.IndexFunc(filename, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		// RFC 7578 / 2231: any character, percent-encoded.
		disp = `form-data; name="` + field + `"; filename*=UTF-8''` + url.PathEscape(filename)
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Type", "application/octet-stream")
	p, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(data)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// upload posts a file and returns the status and body.
func upload(t testing.TB, base, path, agentToken, filename string, data []byte) (int, []byte, http.Header) {
	t.Helper()
	return sendFile(t, "POST", base+path, agentToken, filename, data)
}

// sendFile sends a file as the part "file" of a multipart body.
func sendFile(t testing.TB, method, url, agentToken, filename string, data []byte) (int, []byte, http.Header) {
	t.Helper()
	return sendFileWith(t, method, url, agentToken, nil, filename, data)
}

// sendFileWith is sendFile with extra headers.
func sendFileWith(t testing.TB, method, url, agentToken string, header map[string]string, filename string, data []byte) (int, []byte, http.Header) {
	t.Helper()
	ct, body := multipartBody(t, "file", filename, data)
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if agentToken != "" {
		req.Header.Set("Authorization", "Bearer "+agentToken)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

func visitorUpload(t testing.TB, s *apptest.Server, visitorToken, filename string, data []byte) (int, []byte, http.Header) {
	t.Helper()
	return upload(t, s.URL, "/api/widget/v1/uploads?visitor_token="+url.QueryEscape(visitorToken), "", filename, data)
}

func getFile(t testing.TB, u, agentToken string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if agentToken != "" {
		req.Header.Set("Authorization", "Bearer "+agentToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// A visitor's screenshot goes with a message (body empty), agents see and
// download it, the visitor downloads their own, another visitor gets 404;
// an agent's file goes the other way.
func TestUploadsBothWays(t *testing.T) {
	s, a, sess, first := chatting(t)
	img := pngBytes(t, 40, 30)
	status, raw, _ := visitorUpload(t, s, sess.VisitorToken, "screenshot.png", img)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var att model.Attachment
	json.Unmarshal(raw, &att)
	if att.ID == "" || att.ContentType != "image/png" || att.Size != int64(len(img)) || att.Filename != "screenshot.png" ||
		att.URL != s.URL+"/api/widget/v1/attachments/"+att.ID {
		t.Fatalf("attachment = %+v", att)
	}

	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": sess.VisitorToken, "body": "", "client_id": "c2", "attachment_ids": []string{att.ID}}, http.StatusCreated, &m)
	if len(m.Attachments) != 1 || m.Attachments[0].ID != att.ID {
		t.Fatalf("message attachments = %+v", m.Attachments)
	}
	// The same upload cannot go with a second message.
	raw = s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": sess.VisitorToken, "body": "again", "client_id": "c3", "attachment_ids": []string{att.ID}}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != "bad_request" {
		t.Errorf("reused upload: %s", raw)
	}

	var list struct{ Messages []model.Message }
	s.Do("GET", "/api/v1/conversations/"+first.ConversationID+"/messages", a.Token, nil, http.StatusOK, &list)
	var seen *model.Attachment
	for _, msg := range list.Messages {
		for i := range msg.Attachments {
			seen = &msg.Attachments[i]
		}
	}
	if seen == nil || seen.URL != s.URL+"/api/v1/attachments/"+att.ID {
		t.Fatalf("agent's view of the file: %+v", seen)
	}
	resp, body := getFile(t, seen.URL, a.Token)
	if resp.StatusCode != 200 || !bytes.Equal(body, img) {
		t.Fatalf("agent download: %d, %d bytes", resp.StatusCode, len(body))
	}
	for h, want := range map[string]string{
		"Content-Type":            "image/png",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
		"Content-Disposition":     `inline; filename=screenshot.png`,
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	resp, body = getFile(t, att.URL+"?visitor_token="+url.QueryEscape(sess.VisitorToken), "")
	if resp.StatusCode != 200 || !bytes.Equal(body, img) {
		t.Fatalf("visitor download: %d", resp.StatusCode)
	}
	other := newSession(t, s, s.Workspace.SiteKey, "")
	resp, _ = getFile(t, att.URL+"?visitor_token="+url.QueryEscape(other.VisitorToken), "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another visitor fetching the file: %d, want 404", resp.StatusCode)
	}
	resp, _ = getFile(t, att.URL, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}

	// Agent → visitor: a PDF, offered as a download.
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	status, raw, _ = upload(t, s.URL, "/api/v1/conversations/"+first.ConversationID+"/uploads", a.Token, "invoice.pdf", pdf)
	if status != http.StatusCreated {
		t.Fatalf("agent upload: %d %s", status, raw)
	}
	json.Unmarshal(raw, &att)
	ws := s.DialWidget(sess.VisitorToken)
	defer ws.Close()
	var reply model.Message
	s.Do("POST", "/api/v1/conversations/"+first.ConversationID+"/messages", a.Token, map[string]any{"body": "Here is your invoice", "attachment_ids": []string{att.ID}}, http.StatusCreated, &reply)
	if len(reply.Attachments) != 1 || reply.Attachments[0].ContentType != "application/pdf" {
		t.Fatalf("reply = %+v", reply)
	}
	var frameFile map[string]any
	for frameFile == nil {
		f := ws.Next(10e9)
		if f == nil {
			t.Fatal("no message frame with the file")
		}
		if msg, ok := f["message"].(map[string]any); ok && f["type"] == "message" && msg["id"] == reply.ID {
			frameFile = msg["attachments"].([]any)[0].(map[string]any)
		}
	}
	if frameFile["url"] != s.URL+"/api/widget/v1/attachments/"+att.ID {
		t.Fatalf("widget frame's file = %v", frameFile)
	}
	// Read by the visitor, the reply is sent again (the unread count of
	// their other tabs drops) whole: a copy without its file would take it
	// off the widget's screen.
	ws.Send(map[string]string{"type": "read", "message_id": reply.ID})
	for again := false; !again; {
		f := ws.Next(10e9)
		if f == nil {
			t.Fatal("no message frame after the read")
		}
		msg, ok := f["message"].(map[string]any)
		if !ok || f["type"] != "message" || msg["id"] != reply.ID || msg["read_by_visitor_at"] == nil {
			continue
		}
		again = true
		if files, _ := msg["attachments"].([]any); len(files) != 1 {
			t.Errorf("the reply sent again once read has %d files: %v", len(files), msg)
		}
	}
	resp, body = getFile(t, frameFile["url"].(string)+"?visitor_token="+url.QueryEscape(sess.VisitorToken), "")
	if resp.StatusCode != 200 || !bytes.Equal(body, pdf) || resp.Header.Get("Content-Disposition") != "attachment; filename=invoice.pdf" {
		t.Fatalf("visitor download of the agent's file: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	// An internal comment's file is not the visitor's.
	status, raw, _ = upload(t, s.URL, "/api/v1/conversations/"+first.ConversationID+"/uploads", a.Token, "notes.txt", []byte("internal notes\n"))
	if status != http.StatusCreated {
		t.Fatalf("agent upload: %d %s", status, raw)
	}
	json.Unmarshal(raw, &att)
	s.Do("POST", "/api/v1/conversations/"+first.ConversationID+"/messages", a.Token, map[string]any{"body": "for us", "kind": "comment", "attachment_ids": []string{att.ID}}, http.StatusCreated, nil)
	resp, _ = getFile(t, s.URL+"/api/widget/v1/attachments/"+att.ID+"?visitor_token="+url.QueryEscape(sess.VisitorToken), "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("visitor fetching a comment's file: %d, want 404", resp.StatusCode)
	}
	// A visitor cannot send an agent's upload, nor another visitor's.
	status, raw, _ = visitorUpload(t, s, other.VisitorToken, "b.txt", []byte("hello\n"))
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, raw)
	}
	json.Unmarshal(raw, &att)
	raw = s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": sess.VisitorToken, "body": "x", "client_id": "c9", "attachment_ids": []string{att.ID}}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != "bad_request" {
		t.Errorf("another visitor's upload: %s", raw)
	}
}

// Files are judged by their content and an allowlist; names are cleaned.
func TestUploadBadInput(t *testing.T) {
	s, _, _, _ := chatting(t)
	gifScript := append([]byte("GIF89a/*\x01\x00\x01\x00\x00\x00\x00;*/"), []byte("=1;alert(document.domain)//")...)
	var zipPNG bytes.Buffer // a PNG with a ZIP appended, named .zip
	zipPNG.Write(pngBytes(t, 2, 2))
	zipPNG.WriteString("PK\x03\x04rest of a zip")
	big := append(pngBytes(t, 2, 2), make([]byte, 11<<20)...)
	cases := []struct {
		name, filename string
		data           []byte
		status         int
		code           string
		keptAs         string // filename kept, when accepted
		contentType    string
	}{
		{"exe renamed png", "photo.png", append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...), 415, "unsupported_type", "", ""},
		{"elf", "x.png", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 100)...), 415, "unsupported_type", "", ""},
		{"svg with script", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, "unsupported_type", "", ""},
		{"svg named png", "logo.png", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 415, "unsupported_type", "", ""},
		{"html", "page.html", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), 415, "unsupported_type", "", ""},
		{"html named txt", "notes.txt", []byte("<html><body onload=alert(1)>"), 415, "unsupported_type", "", ""},
		{"html trailing dot", "evil.html.", []byte("hello"), 415, "unsupported_type", "", ""},
		{"shell script", "run.sh", []byte("#!/bin/sh\nrm -rf /\n"), 415, "unsupported_type", "", ""},
		{"polyglot png+zip named zip", "archive.zip", zipPNG.Bytes(), 415, "unsupported_type", "", ""},
		// A GIF whose bytes are also JavaScript is kept as what it is: an
		// image served as image/gif, nosniff, never run as a script.
		{"polyglot gif+js", "pic.gif", gifScript, 201, "", "pic.gif", "image/gif"},
		{"empty", "empty.txt", nil, 400, "empty_file", "", ""},
		{"11 MiB", "big.png", big, 413, "too_large", "", ""},
		{"path separators", "../../etc/passwd.txt", []byte("root:x:0:0\n"), 201, "", "passwd.txt", "text/plain; charset=utf-8"},
		{"windows path", `C:\Users\me\report.csv`, []byte("a,b\n1,2\n"), 201, "", "report.csv", "text/csv; charset=utf-8"},
		{"control characters", "a\x01b\u202ec\u200bd.txt", []byte("text\n"), 201, "", "abcd.txt", "text/plain; charset=utf-8"},
		{"300 characters", strings.Repeat("n", 300) + ".txt", []byte("text\n"), 201, "", strings.Repeat("n", 196) + ".txt", "text/plain; charset=utf-8"},
		{"only dots", "..", []byte("text\n"), 201, "", "file.txt", "text/plain; charset=utf-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A visitor each: the upload rate limit is per visitor.
			sess := newSession(t, s, s.Workspace.SiteKey, "")
			status, raw, _ := visitorUpload(t, s, sess.VisitorToken, c.filename, c.data)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			if c.code != "" {
				if got := apptest.ErrorCode(raw); got != c.code {
					t.Fatalf("code %q, want %q", got, c.code)
				}
				return
			}
			var att model.Attachment
			json.Unmarshal(raw, &att)
			if att.Filename != c.keptAs || att.ContentType != c.contentType {
				t.Fatalf("kept as %q (%s), want %q (%s)", att.Filename, att.ContentType, c.keptAs, c.contentType)
			}
		})
	}

	// Malformed requests.
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	for _, c := range []struct{ name, contentType, body string }{
		{"not multipart", "application/json", `{"file":"x"}`},
		{"no boundary", "multipart/form-data", "--x\r\n"},
		{"wrong field", "", ""},
		{"truncated", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc"},
	} {
		ct, body := c.contentType, []byte(c.body)
		if c.name == "wrong field" {
			ct, body = multipartBody(t, "document", "a.txt", []byte("hi\n"))
		}
		req, _ := http.NewRequest("POST", s.URL+"/api/widget/v1/uploads?visitor_token="+url.QueryEscape(sess.VisitorToken), bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", c.name, resp.StatusCode)
		}
	}
	status, _, _ := visitorUpload(t, s, "forged-token", "a.txt", []byte("hi\n"))
	if status != http.StatusUnauthorized {
		t.Errorf("forged visitor token: %d, want 401", status)
	}
}

// Uploads are rate-limited per visitor with a Retry-After; a workspace's
// files stop at its quota, and agents are told.
func TestUploadLimits(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_ATTACHMENT_QUOTA": "3000B"})
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hi", "client_id": "c1"}, http.StatusCreated, &m)
	file := bytes.Repeat([]byte("0123456789\n"), 100) // 1100 bytes
	// The agents' files fill the quota (visitors' own hold at most half).
	for i := 0; i < 2; i++ {
		if status, raw, _ := upload(t, s.URL, "/api/v1/conversations/"+m.ConversationID+"/uploads", a.Token, "a.txt", file); status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i, status, raw)
		}
	}
	status, raw, _ := visitorUpload(t, s, sess.VisitorToken, "a.txt", file)
	if status != http.StatusRequestEntityTooLarge || apptest.ErrorCode(raw) != "quota_exceeded" {
		t.Fatalf("over quota: %d %s", status, raw)
	}
	var list struct{ Messages []model.Message }
	s.Do("GET", "/api/v1/conversations/"+m.ConversationID+"/messages", a.Token, nil, http.StatusOK, &list)
	noted := false
	for _, msg := range list.Messages {
		noted = noted || (msg.Kind == model.KindEvent && strings.Contains(msg.Body, "files are full"))
	}
	if !noted {
		t.Errorf("no note to the agents about the full quota: %+v", list.Messages)
	}

	other := newSession(t, s, s.Workspace.SiteKey, "")
	small := []byte("x\n")
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		status, raw, h := visitorUpload(t, s, other.VisitorToken, "a.txt", small)
		switch status {
		case http.StatusCreated:
		case http.StatusTooManyRequests:
			limited = true
			if apptest.ErrorCode(raw) != "rate_limited" || h.Get("Retry-After") == "" {
				t.Errorf("429 without code or Retry-After: %s %v", raw, h)
			}
		default:
			t.Fatalf("upload %d: %d %s", i, status, raw)
		}
	}
	if !limited {
		t.Error("30 uploads in a row were never rate-limited")
	}
}

// Files visitors attach without sending them cannot fill the workspace's
// quota: a visitor holds at most 50 MiB of them, all visitors a tenth of
// the quota, beyond which the oldest unsent ones make room. A sent file
// is never dropped, and agents' uploads keep working.
func TestUnsentVisitorFilesBounded(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_ATTACHMENT_QUOTA": "200MiB"}) // visitors' share: 50 MiB
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	send := func(token, name string, data []byte) string {
		t.Helper()
		status, raw, _ := visitorUpload(t, s, token, name, data)
		if status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", name, status, raw)
		}
		var att model.Attachment
		json.Unmarshal(raw, &att)
		return att.ID
	}
	customer := newSession(t, s, s.Workspace.SiteKey, "")
	sent := send(customer.VisitorToken, "invoice.txt", []byte("Invoice 42\n"))
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": customer.VisitorToken, "body": "my invoice", "client_id": "c1", "attachment_ids": []string{sent}}, http.StatusCreated, &m)

	big := bytes.Repeat([]byte("0123456789abcdef\n"), 9<<20/17) // about 9 MiB
	flood := newSession(t, s, s.Workspace.SiteKey, "")
	var first string
	for i := range 5 {
		id := send(flood.VisitorToken, fmt.Sprintf("big%d.txt", i), big)
		if i == 0 {
			first = id
		}
	}
	status, raw, _ := visitorUpload(t, s, flood.VisitorToken, "big5.txt", big)
	if status != http.StatusRequestEntityTooLarge || apptest.ErrorCode(raw) != "quota_exceeded" {
		t.Fatalf("a sixth unsent file of one visitor: %d %s", status, raw)
	}
	// Another visitor's file is taken: the flood's oldest makes room.
	other := newSession(t, s, s.Workspace.SiteKey, "")
	late := send(other.VisitorToken, "photo.txt", big)
	raw = s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": flood.VisitorToken, "body": "", "client_id": "f1", "attachment_ids": []string{first}}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != "bad_request" {
		t.Errorf("the dropped upload sent: %s", raw)
	}
	s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": other.VisitorToken, "body": "here", "client_id": "o1", "attachment_ids": []string{late}}, http.StatusCreated, nil)
	if resp, body := getFile(t, s.URL+"/api/v1/attachments/"+sent, a.Token); resp.StatusCode != http.StatusOK || string(body) != "Invoice 42\n" {
		t.Errorf("the sent file after the flood: %d %q", resp.StatusCode, body)
	}
	if status, raw, _ := upload(t, s.URL, "/api/v1/conversations/"+m.ConversationID+"/uploads", a.Token, "reply.txt", big); status != http.StatusCreated {
		t.Errorf("an agent's upload after the flood: %d %s", status, raw)
	}
}

// Sent files are never dropped, so a stranger who sends what they upload
// is not stopped by the bound on unsent ones: new visitors from one
// address uploading 10 MiB files and sending them filled a workspace's
// whole quota in seconds, and then every agent's file was refused. One
// address now uploads 100 MiB of visitors' files in a burst, then 100 MiB
// an hour (429 rate_limited with Retry-After); another address's visitor
// and the agents are not held back.
func TestSentVisitorFilesFromOneAddress(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_TRUSTED_PROXIES": "127.0.0.1/32"})
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	uploadFrom := func(addr, token, name string, data []byte) (int, []byte, http.Header) {
		t.Helper()
		return sendFileWith(t, "POST", s.URL+"/api/widget/v1/uploads?visitor_token="+url.QueryEscape(token), "", from(addr), name, data)
	}
	big := bytes.Repeat([]byte(strings.Repeat("x", 63)+"\n"), 10<<20/64) // 10 MiB
	kept := 0
	var (
		refused []byte
		retry   string
		convID  string
	)
	for v := 0; v < 4 && refused == nil; v++ {
		tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
		var ids []string
		for i := 0; i < 4; i++ {
			status, raw, h := uploadFrom("203.0.113.9", tok, fmt.Sprintf("f%d-%d.txt", v, i), big)
			if status != http.StatusCreated {
				if status != http.StatusTooManyRequests {
					t.Fatalf("file %d: %d %s", kept, status, raw)
				}
				refused, retry = raw, h.Get("Retry-After")
				break
			}
			var att model.Attachment
			json.Unmarshal(raw, &att)
			ids = append(ids, att.ID)
			kept++
		}
		if len(ids) == 0 {
			continue
		}
		status, _, raw := postFrom(t, s, "/api/widget/v1/messages", map[string]any{"visitor_token": tok, "body": "", "client_id": fmt.Sprint("c", v), "attachment_ids": ids}, from("203.0.113.9"))
		if status != http.StatusCreated {
			t.Fatalf("sending the files of visitor %d: %d %s", v, status, raw)
		}
		var m model.Message
		json.Unmarshal(raw, &m)
		convID = m.ConversationID
	}
	if kept != 10 || refused == nil {
		t.Fatalf("one address: %d files of 10 MiB kept and sent, want 10 then a refusal", kept)
	}
	if apptest.ErrorCode(refused) != "rate_limited" || retry == "" {
		t.Fatalf("the 11th file: %s, Retry-After %q", refused, retry)
	}
	other := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
	if status, raw, _ := uploadFrom("203.0.113.10", other, "photo.png", pngBytes(t, 40, 30)); status != http.StatusCreated {
		t.Errorf("a visitor at another address: %d %s", status, raw)
	}
	if status, raw, _ := upload(t, s.URL, "/api/v1/conversations/"+convID+"/uploads", a.Token, "reply.txt", big); status != http.StatusCreated {
		t.Errorf("an agent's upload after the flood: %d %s", status, raw)
	}
}

// Visitors' files, sent or not, hold at most half of the quota, whatever
// addresses they come from: past it a visitor's file is refused as over
// the quota (agents are told), and the agents' half stays theirs.
func TestVisitorFilesShareOfQuota(t *testing.T) {
	eachDB(t, map[string]string{"PARLEY_ATTACHMENT_QUOTA": "4MiB", "PARLEY_RATE_LIMITS": "off"}, testVisitorFilesShareOfQuota)
}

func testVisitorFilesShareOfQuota(t *testing.T, s *apptest.Server) {
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	mib := bytes.Repeat([]byte(strings.Repeat("y", 63)+"\n"), 1<<20/64)
	var conv string
	for v := range 2 {
		tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
		status, raw, _ := visitorUpload(t, s, tok, "scan.txt", mib)
		if status != http.StatusCreated {
			t.Fatalf("visitor %d's file: %d %s", v, status, raw)
		}
		var att model.Attachment
		json.Unmarshal(raw, &att)
		var m model.Message
		s.Do("POST", "/api/widget/v1/messages", "", map[string]any{"visitor_token": tok, "body": "", "client_id": "c1", "attachment_ids": []string{att.ID}}, http.StatusCreated, &m)
		conv = m.ConversationID
	}
	late := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": late, "body": "here is another", "client_id": "c1"}, http.StatusCreated, nil)
	status, raw, _ := visitorUpload(t, s, late, "more.txt", mib)
	if status != http.StatusRequestEntityTooLarge || apptest.ErrorCode(raw) != "quota_exceeded" {
		t.Fatalf("a visitor's file past the visitors' half: %d %s", status, raw)
	}
	var list struct{ Conversations []model.Conversation }
	s.Do("GET", "/api/v1/conversations?status=open", a.Token, nil, http.StatusOK, &list)
	noted := false
	for _, c := range list.Conversations {
		var msgs struct{ Messages []model.Message }
		s.Do("GET", "/api/v1/conversations/"+c.ID+"/messages", a.Token, nil, http.StatusOK, &msgs)
		for _, msg := range msgs.Messages {
			noted = noted || (msg.Kind == model.KindEvent && strings.Contains(msg.Body, "visitors' files fill their half"))
		}
	}
	if !noted {
		t.Error("no note to the agents about the visitors' half")
	}
	for i := range 2 {
		if status, raw, _ := upload(t, s.URL, "/api/v1/conversations/"+conv+"/uploads", a.Token, "reply.txt", mib[:len(mib)-1024]); status != http.StatusCreated {
			t.Fatalf("agent's file %d in their half: %d %s", i, status, raw)
		}
	}
}
