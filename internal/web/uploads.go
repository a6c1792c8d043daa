package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Uploads and downloads of files, from the widget and the agent API.

// errUpload is a malformed multipart upload.
type errUpload struct {
	status int
	code   string
	msg    string
}

func (e *errUpload) Error() string { return e.code + ": " + e.msg }

// parseUpload reads a multipart/form-data body holding one part named
// "file": its name as the client sent it (directories and all; the domain
// cleans it) and its bytes, at most limit. Other fields are skipped; a
// second file part is refused.
func parseUpload(contentType string, body io.Reader, limit int) (chat.UploadFile, error) {
	var f chat.UploadFile
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return f, &errUpload{http.StatusBadRequest, chat.CodeBadRequest, "send a multipart/form-data body with one part named file"}
	}
	mr := multipart.NewReader(body, params["boundary"])
	found := false
	for parts := 0; ; parts++ {
		if parts >= 20 {
			return f, &errUpload{http.StatusBadRequest, chat.CodeBadRequest, "too many parts: send one part named file"}
		}
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, uploadReadError(err, limit)
		}
		_, cd, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if cd["name"] != "file" {
			if _, err := io.Copy(io.Discard, io.LimitReader(p, 64<<10)); err != nil {
				return f, uploadReadError(err, limit)
			}
			continue
		}
		if found {
			return f, &errUpload{http.StatusBadRequest, chat.CodeBadRequest, "send one file at a time"}
		}
		found = true
		data, err := io.ReadAll(io.LimitReader(p, int64(limit)+1))
		if err != nil {
			return f, uploadReadError(err, limit)
		}
		if len(data) > limit {
			return f, tooLarge(limit)
		}
		f.Filename, f.Data = cd["filename"], data
	}
	if !found {
		return f, &errUpload{http.StatusBadRequest, chat.CodeBadRequest, "the body has no part named file"}
	}
	return f, nil
}

func uploadReadError(err error, limit int) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tooLarge(limit)
	}
	return &errUpload{http.StatusBadRequest, chat.CodeBadRequest, "malformed multipart body"}
}

func tooLarge(limit int) *errUpload {
	return &errUpload{http.StatusRequestEntityTooLarge, chat.CodeTooLarge, fmt.Sprintf("a file is at most %d MiB", limit>>20)}
}

// readUpload reads the upload of a request, at most limit bytes of file,
// through gate under keys (see uploadGate), or answers the error itself
// and returns false. release gives the upload's room in the gate back,
// once its bytes are no longer held.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request, limit int, gate *uploadGate, keys ...gateKey) (f chat.UploadFile, release func(), ok bool) {
	// Room for the part headers and boundaries.
	bodyLimit := int64(limit) + 64<<10
	if r.ContentLength > bodyLimit {
		e := tooLarge(limit)
		writeError(w, e.status, e.code, e.msg)
		return f, nil, false
	}
	release, err := gate.enter(r.Context(), uploadWeight(r, bodyLimit), keys...)
	if err != nil {
		s.fail(w, r, err)
		return f, nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, bodyLimit)
	f, err = parseUpload(r.Header.Get("Content-Type"), r.Body, limit)
	var e *errUpload
	if errors.As(err, &e) {
		writeError(w, e.status, e.code, e.msg)
	}
	if err != nil {
		release()
		return f, nil, false
	}
	return f, release, true
}

// widgetUpload is POST /api/widget/v1/uploads?visitor_token=T. What the
// visitor's limits would refuse is refused before the file is read.
func (s *Server) widgetUpload(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	v, err := s.svc.VisitorByToken(r.Context(), r.URL.Query().Get("visitor_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	addr := s.clientAddr(r)
	if err := s.svc.VisitorUploadReady(v, addr, r.ContentLength); err != nil {
		s.fail(w, r, err)
		return
	}
	f, release, ok := s.readUpload(w, r, chat.MaxUploadBytes, s.uploads, senderKey("visitor:"+v.ID), addressKey(addr))
	if !ok {
		return
	}
	defer release()
	a, err := s.svc.VisitorUpload(r.Context(), v, addr, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

// agentUpload is POST /api/v1/conversations/{id}/uploads.
func (s *Server) agentUpload(w http.ResponseWriter, r *http.Request, a model.Agent) {
	f, release, ok := s.readUpload(w, r, chat.MaxUploadBytes, s.agentUploads, senderKey("agent:"+a.ID))
	if !ok {
		return
	}
	defer release()
	att, err := s.svc.AgentUpload(r.Context(), a, r.PathValue("id"), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, att)
}

// widgetAttachment is GET /api/widget/v1/attachments/{id}?visitor_token=T:
// a file of the visitor's own conversation.
func (s *Server) widgetAttachment(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	v, err := s.svc.VisitorByToken(r.Context(), r.URL.Query().Get("visitor_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	att, data, err := s.svc.VisitorAttachment(r.Context(), v, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveFile(w, r, att, data)
}

// attachment is GET /api/v1/attachments/{id}: a file of the agent's
// workspace.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, a model.Agent) {
	att, data, err := s.svc.Attachment(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveFile(w, r, att, data)
}

// emailedFile serves a file through the link of a forwarded email.
func (s *Server) emailedFile(w http.ResponseWriter, r *http.Request) {
	att, data, err := s.svc.FileByLink(r.Context(), r.PathValue("link"))
	switch {
	case err == nil:
		w.Header().Set("Referrer-Policy", "no-referrer")
		serveFile(w, r, att, data)
	case chat.ErrorCode(err) == chat.CodeLinkExpired:
		s.renderPlain(w, http.StatusGone, "This link has expired",
			"Links to files in emails work for 30 days after the email that carries them.",
			"Open the conversation from a newer email, or ask in the chat for the file again.", "", "")
	case answerOf(err).Internal:
		s.log.Error("file link", "err", err)
		s.serverErrorPage(w, r)
	default:
		s.renderPlain(w, http.StatusNotFound, "This link does not work",
			"The link is not valid: it may have been copied incompletely from the email, or the file was deleted.",
			"Open the email again and use its link as a whole.", "", "")
	}
}

// serveFile answers a file so that it can never run in Parley's origin:
// its type as detected from its content, no sniffing, a sandboxing CSP,
// and a download unless it is an image (shown inline in the chat).
func serveFile(w http.ResponseWriter, r *http.Request, att model.Attachment, data io.ReadSeeker) {
	h := w.Header()
	h.Set("Content-Type", att.ContentType)
	disposition := "attachment"
	if isImage(att.ContentType) {
		disposition = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": att.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", att.CreatedAt, data)
}

// isImage reports whether a detected type is an image shown inline.
func isImage(contentType string) bool {
	switch strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]) {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// retryAfter sets the Retry-After header of a rate-limited answer, in
// whole seconds, at least one.
func retryAfter(w http.ResponseWriter, err error) {
	var e *chat.Error
	if !errors.As(err, &e) || e.Code != chat.CodeRateLimited {
		return
	}
	secs := int((e.RetryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	if w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
}
