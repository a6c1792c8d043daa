package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/filetype"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Files sent from the widget and the reply box (spec/api-1.1.md, "Typing,
// pages, uploads"). An upload is kept apart until a message carries it;
// sending moves it to the message's attachments in the message's own
// transaction. The bytes live in the database, so every node serves every
// file and no file outlives (or precedes) the row that names it.

// MaxUploadBytes is the largest file accepted.
const MaxUploadBytes = 10 << 20

// MaxFilesPerMessage is how many files one message may carry.
const MaxFilesPerMessage = 10

// Upload limits: a burst of 10 files, then one every 3 seconds, per visitor
// and per agent.
const (
	uploadsPerSecond = 1.0 / 3
	uploadBurst      = 10
)

// unsentUploadTTL is how long an upload waits for a message to carry it.
const unsentUploadTTL = 24 * time.Hour

// Files visitors attached and have not sent are anybody's to make: a
// stranger can open sessions and upload without writing a word. So that
// they cannot fill the workspace's quota (and stop every file, agents' and
// emails' too, for a day), a visitor holds at most maxVisitorUnsent of
// them, and the workspace's visitors together at most a tenth of the quota
// (at least maxVisitorUnsent): beyond it the oldest unsent ones are
// dropped to make room. A visitor sends a file seconds after attaching it;
// a flood pushes out only files nobody sent, never a sent one.
const (
	maxVisitorUnsent = 50 << 20
	unsentShare      = 10
)

// Visitors' files, sent and unsent, hold at most half of the quota: the
// other half is the agents' and the emails', whatever strangers send
// from however many addresses. A visitor's file past it is refused as
// over the quota, and the agents are told.
const visitorShare = 2

// Sent files stay, so the bound on unsent ones does not stop a stranger
// who sends what they upload. The bytes of visitors' files are also
// budgeted per client address and per site (addressLimits, off with
// PARLEY_RATE_LIMITS=off): a burst of 100 MiB from one address, then 100
// MiB an hour, and 200 MiB then 200 MiB an hour for a whole site. A
// visitor's few photos or PDFs are far under it; an address behind which
// many people share one IPv4 (a carrier's NAT) still sends ten full-size
// files in a row, then one every six minutes.
const (
	visitorBytesPerHourByAddr = 100 << 20
	visitorBytesPerHourBySite = 200 << 20
)

// Codes of refused uploads.
const (
	CodeTooLarge        = "too_large"
	CodeUnsupportedType = "unsupported_type"
	CodeEmptyFile       = "empty_file"
	CodeQuotaExceeded   = "quota_exceeded"
)

// UploadFile is a file as the HTTP adapter read it.
type UploadFile struct {
	Filename string // as the client named it; cleaned before it is kept
	Data     []byte
}

// VisitorUpload keeps a file a visitor attaches, until a message of theirs
// carries it. addr is the client's address for the per-address limit (""
// when there is none).
// VisitorUploadReady answers, before a visitor's file of size bytes (as
// announced; 0 when not, read as the largest) is read, the limits
// VisitorUpload would refuse it for: the visitor's files, their address's
// and site's bytes. It takes
// nothing of them (VisitorUpload does), so that a refused file costs no
// reading.
func (s *Service) VisitorUploadReady(v model.Visitor, addr string, size int64) error {
	now := s.now()
	if d := s.uploadLimits.ready("v:"+v.ID, now, 1); d > 0 {
		return rateLimited("too many files; wait a moment", d)
	}
	// Not announced (a chunked body): the most it may be.
	if size <= 0 {
		size = MaxUploadBytes
	}
	return s.limits.readyN(s.limits.uploadBytesByAddr, s.limits.uploadBytesBySite, addr, v.WorkspaceID, now, int(min(size, MaxUploadBytes)), "files")
}

func (s *Service) VisitorUpload(ctx context.Context, v model.Visitor, addr string, f UploadFile) (model.Attachment, error) {
	now := s.now()
	if ok, wait := s.uploadLimits.allowOrWait("v:"+v.ID, now); !ok {
		return model.Attachment{}, rateLimited("too many files; wait a moment", wait)
	}
	t, name, err := CheckFile(f)
	if err != nil {
		return model.Attachment{}, err
	}
	all, mine, err := s.db.UnsentVisitorBytes(ctx, v.WorkspaceID, v.ID)
	if err != nil {
		return model.Attachment{}, err
	}
	size := int64(len(f.Data))
	if mine+size > maxVisitorUnsent {
		return model.Attachment{}, newError(CodeQuotaExceeded, fmt.Sprintf("send the files attached already before adding more (at most %s waiting)", humanSize(maxVisitorUnsent)))
	}
	// Charged for a file that is kept unless the quota refuses it: a
	// refused type or an unsent pile costs the address nothing.
	if err := s.limits.checkN(s.limits.uploadBytesByAddr, s.limits.uploadBytesBySite, addr, v.WorkspaceID, now, len(f.Data), "files"); err != nil {
		return model.Attachment{}, err
	}
	if over := all + size - max(s.opts.AttachmentQuota/unsentShare, maxVisitorUnsent); over > 0 {
		n, err := s.db.DropOldestVisitorUploads(ctx, v.WorkspaceID, over)
		if err != nil {
			return model.Attachment{}, err
		}
		s.log.Warn("visitors' unsent files over their share of the quota: the oldest dropped", "workspace", v.WorkspaceID, "dropped", n)
	}
	visitors, err := s.db.VisitorFileBytes(ctx, v.WorkspaceID)
	if err != nil {
		return model.Attachment{}, err
	}
	if share := s.opts.AttachmentQuota / visitorShare; visitors+size > share {
		s.noteQuota(ctx, v, fmt.Sprintf("A file from the visitor was refused: visitors' files fill their half of this workspace's space (%s of PARLEY_ATTACHMENT_QUOTA = %s); the other half stays for agents and emails. Delete old conversations or raise the quota.",
			humanSize(visitors), humanSize(s.opts.AttachmentQuota)))
		return model.Attachment{}, newError(CodeQuotaExceeded, "this site cannot take more files from visitors right now; write your message instead")
	}
	u := store.Upload{VisitorID: v.ID}
	a, err := s.upload(ctx, v.WorkspaceID, u, t, name, f.Data, now)
	if ErrorCode(err) == CodeQuotaExceeded {
		s.noteQuota(ctx, v, fmt.Sprintf("A file from the visitor was refused: this workspace's files are full (PARLEY_ATTACHMENT_QUOTA = %s). Delete old conversations or raise the quota.", humanSize(s.opts.AttachmentQuota)))
	}
	return visitorURLs(s.opts.PublicURL, a), err
}

// AgentUpload keeps a file an agent attaches in the reply box of a
// conversation, until their message carries it.
func (s *Service) AgentUpload(ctx context.Context, a model.Agent, conversationID string, f UploadFile) (model.Attachment, error) {
	now := s.now()
	if ok, wait := s.uploadLimits.allowOrWait("a:"+a.ID, now); !ok {
		return model.Attachment{}, rateLimited("too many files; wait a moment", wait)
	}
	if _, err := s.Conversation(ctx, a, conversationID); err != nil {
		return model.Attachment{}, err
	}
	t, name, err := CheckFile(f)
	if err != nil {
		return model.Attachment{}, err
	}
	att, err := s.upload(ctx, a.WorkspaceID, store.Upload{ConversationID: conversationID, AgentID: a.ID}, t, name, f.Data, now)
	return agentURLs(s.opts.PublicURL, att), err
}

// upload keeps a file CheckFile accepted (its type t and cleaned name)
// within the workspace's quota.
func (s *Service) upload(ctx context.Context, workspaceID string, u store.Upload, t filetype.Type, name string, data []byte, now time.Time) (model.Attachment, error) {
	if n, err := s.db.DeleteUploadsBefore(ctx, now.Add(-unsentUploadTTL)); err != nil {
		s.log.Warn("delete unsent uploads", "err", err)
	} else if n > 0 {
		s.log.Info("unsent uploads deleted", "count", n)
	}
	used, err := s.db.AttachmentBytes(ctx, workspaceID)
	if err != nil {
		return model.Attachment{}, err
	}
	if used+int64(len(data)) > s.opts.AttachmentQuota {
		return model.Attachment{}, newError(CodeQuotaExceeded, fmt.Sprintf("this workspace's files are full (%s of %s); an administrator can delete conversations or raise PARLEY_ATTACHMENT_QUOTA", humanSize(used), humanSize(s.opts.AttachmentQuota)))
	}
	u.Attachment = model.Attachment{ID: model.NewID(), WorkspaceID: workspaceID, Filename: name,
		ContentType: t.MediaType, Size: int64(len(data)), CreatedAt: now}
	if err := s.db.CreateUpload(ctx, u, data); err != nil {
		return model.Attachment{}, err
	}
	return u.Attachment, nil
}

// CheckFile decides whether a file is kept: its size, and its type from
// its content and the allowlist of filetype. It returns the type and the
// cleaned name.
func CheckFile(f UploadFile) (filetype.Type, string, error) {
	if len(f.Data) > MaxUploadBytes {
		return filetype.Type{}, "", newError(CodeTooLarge, fmt.Sprintf("a file is at most %d MiB", MaxUploadBytes>>20))
	}
	if len(f.Data) == 0 {
		return filetype.Type{}, "", newError(CodeEmptyFile, "the file is empty")
	}
	name := CleanFilename(f.Filename)
	detectName := name
	if detectName == "" {
		detectName = "file" // no extension: the content alone decides
	}
	t, ok := filetype.Detect(detectName, f.Data)
	if !ok {
		return t, "", newError(CodeUnsupportedType, "this type of file is not accepted: send an image (PNG, JPEG, GIF, WebP), a PDF, a text or CSV file, a ZIP or an office document, with a name that matches its content")
	}
	if name == "" {
		name = "file" + t.Extensions[0]
	}
	return t, name, nil
}

// CleanFilename keeps the last element of a name (no directories, whatever
// the separator), without control, format (bidi, zero-width) or invalid
// characters, at most 200 characters with its extension kept.
func CleanFilename(raw string) string {
	raw = strings.ToValidUTF8(raw, "")
	raw = strings.ReplaceAll(raw, "\\", "/")
	raw = path.Base(raw)
	var b strings.Builder
	for _, r := range raw {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == '/' {
			continue
		}
		b.WriteRune(r)
	}
	name := strings.TrimSpace(b.String())
	if name == "." || name == ".." || strings.Trim(name, ".") == "" {
		return ""
	}
	if r := []rune(name); len(r) > 200 {
		ext := []rune(path.Ext(name))
		if len(ext) > 20 {
			ext = nil
		}
		name = string(r[:200-len(ext)]) + string(ext)
	}
	return name
}

// attachUploads moves the uploads named by ids to msg's attachments, inside
// the transaction storing msg. owns says whether an upload may go with it.
func attachUploads(ctx context.Context, tx *store.Store, msg *model.Message, ids []string, owns func(store.Upload) bool) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := tx.Upload(ctx, msg.WorkspaceID, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !owns(u)) {
			return newError(CodeBadRequest, fmt.Sprintf("attachment %q is not an upload of yours waiting to be sent", id))
		}
		if err != nil {
			return err
		}
		a, err := tx.AttachUpload(ctx, u, *msg)
		if err != nil {
			return err
		}
		msg.Attachments = append(msg.Attachments, a)
	}
	return nil
}

// checkBodyWithFiles validates a message body, which may be empty when
// the message carries files.
func checkBodyWithFiles(body string, attachmentIDs []string) (string, error) {
	if err := checkAttachmentIDs(attachmentIDs); err != nil {
		return "", err
	}
	if len(attachmentIDs) > 0 && strings.TrimSpace(body) == "" {
		return "", nil
	}
	return checkBody(body)
}

// checkAttachmentIDs validates the attachment ids of a message.
func checkAttachmentIDs(ids []string) error {
	if len(ids) > MaxFilesPerMessage {
		return newError(CodeBadRequest, fmt.Sprintf("a message carries at most %d files", MaxFilesPerMessage))
	}
	for _, id := range ids {
		if id == "" || len(id) > 64 {
			return newError(CodeBadRequest, "attachment_ids holds ids of uploads")
		}
	}
	return nil
}

// VisitorAttachment returns a file a visitor may download (one of a public
// message of their conversations, or an upload of theirs) and its bytes.
func (s *Service) VisitorAttachment(ctx context.Context, v model.Visitor, id string) (model.Attachment, io.ReadSeeker, error) {
	a, err := s.db.VisitorAttachment(ctx, v.ID, id)
	if err != nil {
		return a, nil, notFound(err, "attachment")
	}
	r, err := s.db.File(ctx, a.WorkspaceID, a.ID)
	return a, r, notFound(err, "attachment")
}

// Attachment returns a file of the agent's workspace (sent, or uploaded and
// not sent yet) and its bytes.
func (s *Service) Attachment(ctx context.Context, a model.Agent, id string) (model.Attachment, io.ReadSeeker, error) {
	att, err := s.db.Attachment(ctx, a.WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		var u store.Upload
		u, err = s.db.Upload(ctx, a.WorkspaceID, id)
		att = u.Attachment
	}
	if err != nil {
		return att, nil, notFound(err, "attachment")
	}
	r, err := s.db.File(ctx, a.WorkspaceID, att.ID)
	return att, r, notFound(err, "attachment")
}

// noteQuota tells the workspace's agents, in the visitor's conversation,
// that a file was refused for the quota (text says which); at most once an
// hour per workspace.
func (s *Service) noteQuota(ctx context.Context, v model.Visitor, text string) {
	now := s.now()
	s.mu.Lock()
	if last, ok := s.quotaNoted[v.WorkspaceID]; ok && now.Sub(last) < time.Hour {
		s.mu.Unlock()
		return
	}
	if s.quotaNoted == nil {
		s.quotaNoted = map[string]time.Time{}
	}
	s.quotaNoted[v.WorkspaceID] = now
	s.mu.Unlock()
	c, err := s.db.LatestConversationOfVisitor(ctx, v.ID, model.ChannelWebsite)
	if err != nil {
		return
	}
	n := s.note(c, now, text)
	n.Channel = model.MsgChannelWidget
	hooks := s.hooks()
	if err := s.saveNote(ctx, hooks, n); err != nil {
		s.log.Warn("note quota", "err", err)
		return
	}
	hooks.done()
	s.toAgents(v.WorkspaceID, realtime.MessageCreated, n)
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// agentURLs and visitorURLs set the download links of attachments for
// agents (the agent API) and for the widget (the widget API, to which the
// widget adds its visitor token).
func agentURLs(base string, a model.Attachment) model.Attachment {
	if a.ID != "" {
		a.URL = base + "/api/v1/attachments/" + a.ID
	}
	return a
}

func visitorURLs(base string, a model.Attachment) model.Attachment {
	if a.ID != "" {
		a.URL = base + "/api/widget/v1/attachments/" + a.ID
	}
	return a
}

// messageURLs returns m with the download links of its files set by link.
func messageURLs(m model.Message, base string, link func(string, model.Attachment) model.Attachment) model.Message {
	if len(m.Attachments) == 0 {
		return m
	}
	files := make([]model.Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		files[i] = link(base, a)
	}
	m.Attachments = files
	return m
}

func messagesURLs(ms []model.Message, base string, link func(string, model.Attachment) model.Attachment) []model.Message {
	for i := range ms {
		ms[i] = messageURLs(ms[i], base, link)
	}
	return ms
}

// ImportAttachmentFiles moves the files older versions kept in
// AttachmentsDir into the database, then deletes them from the disk. An
// attachment whose file is missing stays listed without its bytes.
func (s *Service) ImportAttachmentFiles(ctx context.Context) error {
	atts, err := s.db.AttachmentsWithoutFile(ctx)
	if err != nil {
		return err
	}
	moved := 0
	for _, a := range atts {
		p := s.attachmentPath(a.ID)
		data, err := os.ReadFile(p)
		if err != nil {
			s.log.Warn("attachment file missing: kept without its bytes", "attachment", a.ID, "err", err)
			continue
		}
		if err := s.db.ImportFile(ctx, a.WorkspaceID, a.ID, data); err != nil {
			return fmt.Errorf("import attachment %s: %w", a.ID, err)
		}
		if err := os.Remove(p); err != nil {
			s.log.Warn("remove imported attachment file", "attachment", a.ID, "err", err)
		}
		moved++
	}
	if moved > 0 {
		s.log.Info("attachment files moved into the database", "count", moved, "dir", s.opts.AttachmentsDir)
	}
	return nil
}
