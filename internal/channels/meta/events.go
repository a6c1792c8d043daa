package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/worker"
)

// messagingEvent is one entry[].messaging[] item of a webhook delivery
// (Messenger Platform "Webhook Events Reference"; Instagram messaging uses
// the same shape).
type messagingEvent struct {
	Sender    party   `json:"sender"`
	Recipient party   `json:"recipient"`
	Timestamp flexInt `json:"timestamp"`
	Message   *struct {
		MID           string `json:"mid"`
		Text          string `json:"text"`
		IsEcho        bool   `json:"is_echo"`
		IsDeleted     bool   `json:"is_deleted"`
		IsUnsupported bool   `json:"is_unsupported"`
		QuickReply    *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		Attachments []attachment `json:"attachments"`
	} `json:"message"`
	Postback *struct {
		MID     string `json:"mid"`
		Title   string `json:"title"`
		Payload string `json:"payload"`
	} `json:"postback"`
	Delivery *struct {
		MIDs      []string `json:"mids"`
		Watermark flexInt  `json:"watermark"`
	} `json:"delivery"`
	Read *struct {
		Watermark flexInt `json:"watermark"` // Messenger: everything sent up to it
		MID       string  `json:"mid"`       // Instagram (messaging_seen): this message
	} `json:"read"`
}

type party struct {
	ID flexString `json:"id"`
}

type attachment struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	URL     string `json:"url"` // fallback attachments put the link here
	Payload *struct {
		URL         string  `json:"url"`
		Title       string  `json:"title"`
		StickerID   flexInt `json:"sticker_id"`
		Coordinates *struct {
			Lat  float64 `json:"lat"`
			Long float64 `json:"long"`
		} `json:"coordinates"`
	} `json:"payload"`
}

// permanent marks an event that can never be processed (malformed): it is
// kept as failed at once instead of retried.
type permanent struct{ error }

// processDue processes the stored webhook events whose time has come.
func (s *Service) processDue(ctx context.Context) error {
	claim := func(ctx context.Context, limit int) ([]store.ChannelEvent, error) {
		batch, err := s.db.ClaimChannelEvents(ctx, s.now(), s.opts.Lease, limit)
		if err != nil {
			return nil, fmt.Errorf("claim webhook events: %w", err)
		}
		return batch, nil
	}
	return worker.Batches(ctx, 50, claim, worker.Each(s.processOne))
}

func (s *Service) processOne(ctx context.Context, e store.ChannelEvent) {
	err := s.process(ctx, e)
	if ctx.Err() != nil {
		// Shutting down: the lease runs out and the event is tried again.
		return
	}
	if err == nil {
		if err := s.db.FinishChannelEvent(ctx, e.ID); err != nil {
			s.log.Error("finish webhook event", "event", e.ID, "err", err)
		}
		return
	}
	var p permanent
	failed := errors.As(err, &p) || chat.ErrorCode(err) != "" || e.Attempts >= s.opts.EventAttempts
	next := s.now().Add(s.backoff(e.Attempts))
	if failed {
		s.log.Warn("webhook event failed; kept as failed", "event", e.ID, "workspace", e.WorkspaceID, "attempt", e.Attempts, "err", err)
	} else {
		s.log.Warn("webhook event failed; will retry", "event", e.ID, "workspace", e.WorkspaceID, "attempt", e.Attempts, "retry_at", next, "err", err)
	}
	if err := s.db.RetryChannelEvent(ctx, e.ID, next, err.Error(), failed); err != nil {
		s.log.Error("reschedule webhook event", "event", e.ID, "err", err)
	}
}

// process applies one messaging event: a person's message (or postback)
// becomes a message of their conversation; delivery and read receipts
// update the agents' replies; the Page's own echoes and other events are
// ignored.
func (s *Service) process(ctx context.Context, e store.ChannelEvent) error {
	channel, err := channelOf(e.Object)
	if err != nil {
		return permanent{err}
	}
	var ev messagingEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return permanent{fmt.Errorf("malformed messaging event: %w", err)}
	}
	acct, err := s.db.ChannelAccount(ctx, e.WorkspaceID)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("webhook event of a disconnected page dropped", "event", e.ID, "workspace", e.WorkspaceID)
		return nil
	}
	if err != nil {
		return err
	}
	sender := string(ev.Sender.ID)
	own := sender == acct.PageID || (acct.InstagramID != "" && sender == acct.InstagramID)
	at := millis(int64(ev.Timestamp))

	switch {
	case ev.Message != nil:
		m := ev.Message
		if m.IsEcho || own {
			// The Page's own message (our replies, or one written in
			// Meta's inbox): not a message from the person.
			return nil
		}
		if m.IsDeleted {
			return nil
		}
		if sender == "" || m.MID == "" {
			return permanent{errors.New("message event without sender or mid")}
		}
		payload := ""
		if m.QuickReply != nil {
			payload = m.QuickReply.Payload
		}
		body := messageBody(m.Text, m.Attachments, m.IsUnsupported, channel)
		return s.receive(ctx, acct, chat.ChannelMessage{WorkspaceID: e.WorkspaceID, Channel: channel, ExternalID: sender,
			MessageID: m.MID, Body: body, Payload: payload, SentAt: at})
	case ev.Postback != nil:
		if own || sender == "" {
			return nil
		}
		pb := ev.Postback
		mid := pb.MID
		if mid == "" {
			// Older postbacks carry no mid: the person and the time name it.
			mid = fmt.Sprintf("postback:%s:%d", sender, int64(ev.Timestamp))
		}
		body := pb.Title
		if strings.TrimSpace(body) == "" {
			body = pb.Payload
		}
		if strings.TrimSpace(body) == "" {
			body = "(pressed a button)"
		}
		body = bounded(body)
		return s.receive(ctx, acct, chat.ChannelMessage{WorkspaceID: e.WorkspaceID, Channel: channel, ExternalID: sender,
			MessageID: mid, Body: body, Payload: pb.Payload, SentAt: at})
	case ev.Delivery != nil:
		var wm *time.Time
		if ev.Delivery.Watermark > 0 {
			t := watermark(int64(ev.Delivery.Watermark))
			wm = &t
		}
		return s.chat.ChannelDelivered(ctx, e.WorkspaceID, channel, sender, ev.Delivery.MIDs, wm)
	case ev.Read != nil:
		if ev.Read.Watermark > 0 {
			return s.chat.ChannelRead(ctx, e.WorkspaceID, channel, sender, watermark(int64(ev.Read.Watermark)))
		}
		if ev.Read.MID != "" {
			return s.chat.ChannelReadMessage(ctx, e.WorkspaceID, channel, sender, ev.Read.MID)
		}
		return nil
	default:
		// Reactions, referrals, optins, standby...: nothing to show yet.
		return nil
	}
}

// receive stores a person's message, looking their name up first when it
// is unknown or older than a day.
func (s *Service) receive(ctx context.Context, acct store.ChannelAccount, in chat.ChannelMessage) error {
	p, err := s.chat.ChannelPerson(ctx, in.WorkspaceID, in.Channel, in.ExternalID)
	if err != nil {
		return err
	}
	if p.ProfileCheckedAt == nil || s.now().Sub(*p.ProfileCheckedAt) >= s.opts.ProfileMaxAge {
		s.lookUpProfile(ctx, acct, p)
	}
	_, dup, err := s.chat.ReceiveChannelMessage(ctx, in)
	if err != nil {
		return err
	}
	if dup {
		s.log.Debug("duplicate channel message ignored", "workspace", in.WorkspaceID, "channel", in.Channel)
	}
	return nil
}

// lookUpProfile fetches a person's name. A failure leaves the name as it is
// (the next message tries again); an invalid token is recorded on the
// account, for Settings → Channels.
func (s *Service) lookUpProfile(ctx context.Context, acct store.ChannelAccount, p model.ChannelPerson) {
	cred, err := s.credentials(acct)
	if err != nil {
		s.log.Error("profile lookup: stored secrets unreadable", "workspace", acct.WorkspaceID, "err", err)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	prof, err := s.graph.Profile(lctx, cred, p.Channel == "instagram", p.ExternalID)
	if err != nil {
		s.log.Warn("profile lookup failed", "workspace", acct.WorkspaceID, "visitor", p.Visitor.ID, "err", err)
		s.noteTokenProblem(ctx, acct.WorkspaceID, err)
		var ae *APIError
		if errors.As(err, &ae) && !ae.Temporary() && !ae.TokenProblem() {
			// Meta will not tell (the person's privacy settings, a
			// missing permission): ask again in a day, not on every message.
			if err := s.chat.SetChannelProfile(ctx, acct.WorkspaceID, p.Visitor.ID, nil); err != nil {
				s.log.Warn("store profile", "workspace", acct.WorkspaceID, "visitor", p.Visitor.ID, "err", err)
			}
		}
		return
	}
	var name *string
	if n := prof.DisplayName(); n != "" {
		name = &n
	}
	if err := s.chat.SetChannelProfile(ctx, acct.WorkspaceID, p.Visitor.ID, name); err != nil {
		s.log.Warn("store profile", "workspace", acct.WorkspaceID, "visitor", p.Visitor.ID, "err", err)
	}
}

// noteTokenProblem records an invalid token on the account.
func (s *Service) noteTokenProblem(ctx context.Context, workspaceID string, err error) {
	var ae *APIError
	if errors.As(err, &ae) && ae.TokenProblem() {
		if err := s.db.SetChannelTokenError(ctx, workspaceID, Describe(ae)); err != nil {
			s.log.Error("record token problem", "workspace", workspaceID, "err", err)
		}
	}
}

// maxBody keeps a message within chat.MaxMessageLength.
const maxBody = chat.MaxMessageLength

// messageBody is what agents read of a person's message: the text, then
// each attachment as a line with its kind and link.
func messageBody(text string, atts []attachment, unsupported bool, channel string) string {
	lines := []string{}
	if strings.TrimSpace(text) != "" {
		lines = append(lines, text)
	}
	for _, a := range atts {
		lines = append(lines, attachmentLine(a))
	}
	if unsupported {
		where := "Messenger"
		if channel == "instagram" {
			where = "Instagram"
		}
		lines = append(lines, "(a kind of message Parley cannot show: open "+where+" to see it)")
	}
	body := strings.Join(lines, "\n")
	if strings.TrimSpace(body) == "" {
		body = "(empty message)"
	}
	return bounded(body)
}

// bounded cuts a body to chat.MaxMessageLength characters.
func bounded(body string) string {
	if utf8.RuneCountInString(body) > maxBody {
		r := []rune(body)
		body = string(r[:maxBody-1]) + "…"
	}
	return body
}

var attachmentLabels = map[string]string{
	"image": "Image", "video": "Video", "audio": "Audio", "file": "File", "sticker": "Sticker",
	"location": "Location", "fallback": "Link", "share": "Shared post", "story_mention": "Story mention",
	"reel": "Reel", "ig_reel": "Reel", "template": "Template", "ephemeral": "Disappearing media",
}

func attachmentLine(a attachment) string {
	label := attachmentLabels[a.Type]
	if label == "" {
		label = "Attachment"
		if a.Type != "" {
			label += " (" + a.Type + ")"
		}
	}
	var url, title string
	if a.Payload != nil {
		url, title = a.Payload.URL, a.Payload.Title
		if a.Type == "sticker" || a.Payload.StickerID != 0 {
			label = "Sticker"
		}
		if c := a.Payload.Coordinates; c != nil && url == "" {
			url = fmt.Sprintf("https://www.openstreetmap.org/?mlat=%f&mlon=%f", c.Lat, c.Long)
		}
	}
	if url == "" {
		url = a.URL
	}
	if title == "" {
		title = a.Title
	}
	line := "[" + label + "]"
	if title != "" {
		line += " " + title
	}
	if url != "" {
		line += " " + url
	}
	return line
}

// millis converts Meta's millisecond timestamps (0: unknown).
// watermark turns Meta's millisecond watermark into the last instant it
// covers: a reply Parley recorded as sent at 12.3456 s was sent "up to"
// a watermark of 12.345 s, which the millisecond cannot say.
func watermark(ms int64) time.Time {
	return millis(ms).Add(time.Millisecond - time.Microsecond)
}

func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
