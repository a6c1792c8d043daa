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
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Graph is a small client of Meta's Graph API: the Send API, the profile
// lookup of a person, a Page's name and its webhook subscription.
//
// Every call carries the Page access token as access_token and, as Meta
// recommends (and requires when "Require App Secret" is on), the
// appsecret_proof: HMAC-SHA256 of the token keyed by the app secret. URLs
// holding a token never appear in errors or logs.
type Graph struct {
	base    string // https://graph.facebook.com
	version string // v21.0
	hc      *http.Client
}

// NewGraph returns a client of the Graph API at base (PARLEY_META_GRAPH_URL)
// in version (PARLEY_META_GRAPH_VERSION).
func NewGraph(base, version string, hc *http.Client) *Graph {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Graph{base: strings.TrimRight(base, "/"), version: strings.Trim(version, "/"), hc: hc}
}

// Credentials authenticate Graph calls for one Page.
type Credentials struct {
	PageToken string
	AppSecret string
}

// APIError is an error answer of the Graph API:
// {"error":{"message","type","code","error_subcode","fbtrace_id","is_transient"}}.
type APIError struct {
	HTTPStatus int    `json:"-"`
	Message    string `json:"message"`
	Type       string `json:"type"`
	Code       int    `json:"code"`
	Subcode    int    `json:"error_subcode"`
	TraceID    string `json:"fbtrace_id"`
	Transient  bool   `json:"is_transient"`
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration `json:"-"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("graph API: %s (code %d", e.Message, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf(", subcode %d", e.Subcode)
	}
	if e.TraceID != "" {
		s += ", fbtrace_id " + e.TraceID
	}
	return s + ")"
}

// Meta's error codes that matter here (developers.facebook.com, Messenger
// Platform "Common Error Codes" and Graph API "Handling Errors").
const (
	codeUnknown        = 1    // "An unknown error occurred" (1/99: permissions)
	codeService        = 2    // "An unexpected error has occurred. Please retry"
	codeTooManyCalls   = 4    // application request limit reached
	codePermission     = 10   // permission denied; subcode 2018278: outside the allowed window
	codeUserLimit      = 17   // user request limit reached
	codePageLimit      = 32   // page request limit reached
	codeAccessToken    = 190  // invalid or expired access token
	codeCustomLimit    = 613  // calls exceed the rate limit
	codeTemporarySend  = 1200 // "Temporary send message failure. Please try again later"
	subcodeOutOfWindow = 2018278
)

// Temporary reports whether the same call may succeed later: rate limits,
// Meta's temporary failures, and server errors.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case codeTooManyCalls, codeUserLimit, codePageLimit, codeCustomLimit, codeService, codeTemporarySend:
		return true
	case codeUnknown:
		// "Possibly a temporary issue"; 1/99 is a missing permission.
		return e.Subcode != 99
	}
	return e.Transient || (e.Code == 0 && e.HTTPStatus >= 500)
}

// TokenProblem reports whether the Page access token is the problem
// (expired, revoked, or the password changed): nothing works until an
// admin connects the Page again.
func (e *APIError) TokenProblem() bool { return e.Code == codeAccessToken }

// OutsideWindow reports Meta's refusal of a message sent outside the
// allowed messaging window.
func (e *APIError) OutsideWindow() bool {
	return e.Code == codePermission && e.Subcode == subcodeOutOfWindow
}

// Describe is what agents read about a failed send.
func Describe(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return "could not reach Meta: " + err.Error()
	}
	var why string
	switch {
	case ae.TokenProblem():
		why = "the Page access token has expired or was revoked; an admin must paste a new one in Settings → Channels"
	case ae.OutsideWindow():
		why = "Meta refused it: it was sent outside the allowed messaging window"
	case ae.Code == codeTooManyCalls || ae.Code == codeUserLimit || ae.Code == codePageLimit || ae.Code == codeCustomLimit:
		why = "Meta's rate limit was reached"
	case ae.Code == 551:
		why = "this person cannot be reached right now (they may have blocked the account)"
	case ae.Temporary():
		why = "Meta had a temporary failure"
	default:
		why = "Meta refused it"
	}
	detail := fmt.Sprintf("%s (code %d", ae.Message, ae.Code)
	if ae.Subcode != 0 {
		detail += fmt.Sprintf("/%d", ae.Subcode)
	}
	if ae.TraceID != "" {
		detail += ", trace " + ae.TraceID
	}
	return why + ": " + detail + ")"
}

// Temporary reports whether a Graph call's failure is worth retrying: a
// temporary API error, or no answer at all (network, timeout).
func Temporary(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	return err != nil
}

// SendRequest is one message of the Send API.
type SendRequest struct {
	// From is the id whose /messages edge is used: the Page id, for
	// Messenger and for Instagram messaging through the Page.
	From      string
	Recipient string // PSID or IGSID
	Text      string
	// Tag is "" (a standard reply, messaging_type RESPONSE) or
	// HUMAN_AGENT (messaging_type MESSAGE_TAG).
	Tag string
}

// SendResult is the Send API's answer.
type SendResult struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// sendBody is the JSON body of POST /{page-id}/messages.
type sendBody struct {
	Recipient     sendRecipient `json:"recipient"`
	Message       sendMessage   `json:"message"`
	MessagingType string        `json:"messaging_type"`
	Tag           string        `json:"tag,omitempty"`
}

type sendRecipient struct {
	ID string `json:"id"`
}

type sendMessage struct {
	Text string `json:"text"`
}

// Send sends a text message: POST {base}/{version}/{page-id}/messages.
func (g *Graph) Send(ctx context.Context, cred Credentials, req SendRequest) (SendResult, error) {
	var body sendBody
	body.Recipient.ID = req.Recipient
	body.Message.Text = req.Text
	body.MessagingType = "RESPONSE"
	if req.Tag != "" {
		body.MessagingType, body.Tag = "MESSAGE_TAG", req.Tag
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return SendResult{}, fmt.Errorf("encode send request: %w", err)
	}
	var res SendResult
	if err := g.call(ctx, http.MethodPost, req.From+"/messages", nil, cred, raw, &res); err != nil {
		return res, err
	}
	if res.MessageID == "" {
		return res, errors.New("graph API: send answer without message_id")
	}
	return res, nil
}

// Profile is what the profile lookup tells of a person.
type Profile struct {
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	ProfilePic string `json:"profile_pic"`
}

// DisplayName is the person's name as agents see it ("" when unknown).
func (p Profile) DisplayName() string {
	if n := strings.TrimSpace(p.FirstName + " " + p.LastName); n != "" {
		return n
	}
	if n := strings.TrimSpace(p.Name); n != "" {
		return n
	}
	if p.Username != "" {
		return "@" + p.Username
	}
	return ""
}

// Profile looks a person up: GET {base}/{version}/{psid}?fields=first_name,last_name,profile_pic
// on Messenger, ?fields=name,username,profile_pic on Instagram.
func (g *Graph) Profile(ctx context.Context, cred Credentials, instagram bool, personID string) (Profile, error) {
	fields := "first_name,last_name,profile_pic"
	if instagram {
		fields = "name,username,profile_pic"
	}
	var p Profile
	err := g.call(ctx, http.MethodGet, personID, url.Values{"fields": {fields}}, cred, nil, &p)
	return p, err
}

// PageName reads a Page's name (which also proves the token works for it):
// GET {base}/{version}/{page-id}?fields=name.
func (g *Graph) PageName(ctx context.Context, cred Credentials, pageID string) (string, error) {
	var p struct {
		Name string `json:"name"`
	}
	err := g.call(ctx, http.MethodGet, pageID, url.Values{"fields": {"name"}}, cred, nil, &p)
	return p.Name, err
}

// SubscribedFields are the Page webhook fields Parley needs.
const SubscribedFields = "messages,message_echoes,message_deliveries,message_reads,messaging_postbacks"

// Subscribe subscribes the app to the Page's messaging webhooks (Messenger,
// and Instagram messaging through the Page): POST {base}/{version}/{page-id}/subscribed_apps.
func (g *Graph) Subscribe(ctx context.Context, cred Credentials, pageID string) error {
	var res struct {
		Success bool `json:"success"`
	}
	if err := g.call(ctx, http.MethodPost, pageID+"/subscribed_apps", url.Values{"subscribed_fields": {SubscribedFields}}, cred, nil, &res); err != nil {
		return err
	}
	if !res.Success {
		return errors.New("graph API: subscription not confirmed")
	}
	return nil
}

// maxAnswer bounds what is read of a Graph answer.
const maxAnswer = 1 << 20

func (g *Graph) call(ctx context.Context, method, path string, query url.Values, cred Credentials, body []byte, out any) error {
	if query == nil {
		query = url.Values{}
	}
	query.Set("access_token", cred.PageToken)
	if cred.AppSecret != "" {
		query.Set("appsecret_proof", appSecretProof(cred.PageToken, cred.AppSecret))
	}
	endpoint := g.base + "/" + g.version + "/" + escapePath(path)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint+"?"+query.Encode(), rd)
	if err != nil {
		return fmt.Errorf("graph API %s %s: %w", method, endpoint, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		// The error names the URL, token included: name the endpoint only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("graph API %s %s: %w", method, endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("graph API %s %s: read answer: %w", method, endpoint, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error *APIError `json:"error"`
		}
		ae := &APIError{}
		if json.Unmarshal(raw, &e) == nil && e.Error != nil {
			ae = e.Error
		} else {
			ae.Message = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		ae.HTTPStatus = resp.StatusCode
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ae.RetryAfter = time.Duration(s) * time.Second
		}
		return ae
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("graph API %s %s: malformed answer: %w", method, endpoint, err)
	}
	return nil
}

// escapePath escapes each segment of a Graph path (ids come from webhooks
// and forms: they must not change the path).
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// appSecretProof is Meta's appsecret_proof: hex HMAC-SHA256 of the access
// token keyed by the app secret.
func appSecretProof(token, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil))
}
