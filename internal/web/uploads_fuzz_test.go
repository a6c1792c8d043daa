package web

import (
	"bytes"
	"errors"
	"testing"

	"github.com/parleychat/parley/internal/chat"
)

// FuzzParseUpload feeds any multipart body to the upload parser: it must
// never panic, answer either a file of at most chat.MaxUploadBytes or an
// upload error with a status, and a file it returns must pass or fail the
// domain's check cleanly.
func FuzzParseUpload(f *testing.F) {
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--b--\r\n"))
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''..%2F..%2Fx%01.png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b--\r\n"))
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n<svg/>\r\n--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n2\r\n--b--\r\n"))
	f.Add("multipart/form-data", []byte("--b\r\n"))
	f.Add("text/plain", []byte(""))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		file, err := parseUpload(contentType, bytes.NewReader(body), chat.MaxUploadBytes)
		if err != nil {
			var e *errUpload
			if !errors.As(err, &e) || e.status < 400 || e.code == "" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(file.Data) > chat.MaxUploadBytes {
			t.Fatalf("%d bytes accepted", len(file.Data))
		}
		if _, name, err := chat.CheckFile(file); err == nil {
			if name == "" || bytes.ContainsAny([]byte(name), "/\\\x00\r\n") {
				t.Fatalf("kept name %q", name)
			}
		} else if chat.ErrorCode(err) == "" {
			t.Fatalf("check failed without a code: %v", err)
		}
	})
}
