package meta

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// MaxWebhookBytes bounds a webhook delivery (Meta batches up to 1,000
// events; they stay far below this).
const MaxWebhookBytes = 1 << 20

// Errors of ReceiveWebhook; the web layer answers 401 and 400.
var (
	ErrSignature = errors.New("X-Hub-Signature-256 is missing or does not match the app secret")
	ErrMalformed = errors.New("webhook body is not a Meta webhook delivery")
)

// VerifyWebhook answers Meta's verification request (GET with hub.mode,
// hub.verify_token and hub.challenge): true when the mode is "subscribe"
// and the token is the verify token of some connected workspace.
func (s *Service) VerifyWebhook(ctx context.Context, mode, verifyToken string) (bool, error) {
	if mode != "subscribe" || verifyToken == "" {
		return false, nil
	}
	return s.db.ChannelVerifyTokenExists(ctx, hashVerifyToken(verifyToken))
}

// Receipt tells what a webhook delivery became.
type Receipt struct {
	Stored  int // events stored for the worker
	Ignored int // entries of no connected account, or of no interest
}

// webhookDelivery is the envelope of a delivery: {"object","entry":[{"id","time","messaging":[...]}]}.
type webhookDelivery struct {
	Object string `json:"object"`
	Entry  []struct {
		ID        flexString        `json:"id"`
		Messaging []json.RawMessage `json:"messaging"`
	} `json:"entry"`
}

// ReceiveWebhook checks and stores a webhook delivery. The signature header
// (X-Hub-Signature-256: sha256=HEX) must be the HMAC-SHA256 of the raw body
// keyed by the app secret of every connected account the delivery names;
// otherwise ErrSignature and nothing is stored. Each messaging event is
// stored as received, for the worker; entries of accounts no workspace
// connected are ignored.
func (s *Service) ReceiveWebhook(ctx context.Context, signature string, body []byte) (Receipt, error) {
	var r Receipt
	sig, ok := parseSignature(signature)
	if !ok {
		return r, ErrSignature
	}
	var d webhookDelivery
	if err := json.Unmarshal(body, &d); err != nil {
		return r, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := channelOf(d.Object); err != nil {
		// Another product's webhook (feed, WhatsApp...) sent to this URL.
		if len(d.Entry) == 0 && d.Object == "" {
			return r, ErrMalformed
		}
		r.Ignored = len(d.Entry)
		s.log.Warn("meta webhook of an unhandled object ignored", "object", d.Object)
		return r, nil
	}

	accounts := map[string]store.ChannelAccount{} // entry id → account
	verified := map[string]bool{}                 // workspace → signature checked
	now := s.now()
	var events []store.ChannelEvent
	for _, e := range d.Entry {
		a, found, err := s.accountOfEntry(ctx, d.Object, string(e.ID), accounts)
		if err != nil {
			return r, err
		}
		if !found {
			r.Ignored++
			continue
		}
		if !verified[a.WorkspaceID] {
			secret, err := s.box.open(a.AppSecretEnc, a.WorkspaceID+"/app_secret")
			if err != nil {
				s.log.Error("meta webhook: app secret unreadable", "workspace", a.WorkspaceID, "err", err)
				return r, ErrSignature
			}
			if !validSignature(body, secret, sig) {
				return r, ErrSignature
			}
			verified[a.WorkspaceID] = true
		}
		if len(e.Messaging) == 0 {
			r.Ignored++
		}
		for _, item := range e.Messaging {
			events = append(events, store.ChannelEvent{ID: model.NewID(), WorkspaceID: a.WorkspaceID, Object: d.Object,
				Payload: bytes.Clone(item), NextAttemptAt: now, ReceivedAt: now})
		}
	}
	if len(events) == 0 {
		return r, nil
	}
	if err := s.db.InTx(ctx, func(tx *store.Store) error { return tx.CreateChannelEvents(ctx, events) }); err != nil {
		return r, err
	}
	r.Stored = len(events)
	s.events.Kick()
	return r, nil
}

// accountOfEntry finds the connected account an entry is for: by Page id
// for Messenger, by Instagram account id (or the Page's) for Instagram.
func (s *Service) accountOfEntry(ctx context.Context, object, id string, cache map[string]store.ChannelAccount) (store.ChannelAccount, bool, error) {
	if a, ok := cache[object+"/"+id]; ok {
		return a, true, nil
	}
	if id == "" {
		return store.ChannelAccount{}, false, nil
	}
	var (
		a   store.ChannelAccount
		err error
	)
	if object == "instagram" {
		a, err = s.db.ChannelAccountByInstagram(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			a, err = s.db.ChannelAccountByPage(ctx, id)
		}
	} else {
		a, err = s.db.ChannelAccountByPage(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	cache[object+"/"+id] = a
	return a, true, nil
}

// parseSignature reads "sha256=HEX".
func parseSignature(h string) ([]byte, bool) {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(h), "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return nil, false
	}
	return sig, true
}

// validSignature checks the HMAC-SHA256 of the raw body, in constant time.
func validSignature(body []byte, appSecret string, sig []byte) bool {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), sig)
}

// Sign returns the X-Hub-Signature-256 value Meta sends with body (for
// tests and tools that replay deliveries).
func Sign(body []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// flexString reads a JSON string or number as a string (Meta's ids are
// strings, but be lenient).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// flexInt reads a JSON number or a string holding one (Meta's timestamps
// are numbers of milliseconds; some payloads quote them).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexInt(n)
	return nil
}
