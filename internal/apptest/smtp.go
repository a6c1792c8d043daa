package apptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is a message a Relay accepted.
type Mail struct {
	From     string
	To       []string
	Raw      []byte
	Msg      *mail.Message
	Accepted time.Time // when the relay took it
}

// Relay is a real SMTP server on loopback that records what it accepts. It
// can refuse with a temporary error for a while, like a busy relay.
type Relay struct {
	Addr string
	URL  string // PARLEY_SMTP_URL for it

	mu       sync.Mutex
	mails    []Mail
	refuse   int // refuse the next n DATA commands with 451
	attempts int
	ids      []string // Message-ID of every attempt
	hold     chan struct{}
	held     chan struct{}
	arrived  chan struct{}
	srv      *smtp.Server
}

// StartRelay starts a Relay until the test ends.
func StartRelay(t testing.TB) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Addr: ln.Addr().String(), arrived: make(chan struct{}, 1024)}
	r.URL = "smtp://" + r.Addr
	r.srv = smtp.NewServer(r)
	r.srv.Domain = "relay.test"
	r.srv.AllowInsecureAuth = true
	r.srv.ReadTimeout = 10 * time.Second
	r.srv.WriteTimeout = 10 * time.Second
	r.srv.ErrorLog = log.New(io.Discard, "", 0) // peers that hang up are expected
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { r.srv.Close() })
	return r
}

// RefuseNext makes the relay answer 451 to the next n messages.
func (r *Relay) RefuseNext(n int) {
	r.mu.Lock()
	r.refuse = n
	r.mu.Unlock()
}

// Hold makes the relay stall in DATA (after reading the message) until
// Release; Held is signalled when a message is stalled. A stalled message is
// answered 451 and not recorded.
func (r *Relay) Hold() (held <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold, r.held = make(chan struct{}), make(chan struct{}, 16)
	return r.held
}

// Release lets stalled messages go (refused).
func (r *Relay) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

// AttemptIDs lists the Message-ID of every DATA attempt, accepted or not.
func (r *Relay) AttemptIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// Attempts counts DATA commands, accepted or refused.
func (r *Relay) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// Mails returns what the relay accepted so far.
func (r *Relay) Mails() []Mail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Mail(nil), r.mails...)
}

// Wait returns once n mails were accepted, failing the test after timeout.
func (r *Relay) Wait(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	return r.WaitExplained(t, n, timeout, nil)
}

// WaitExplained is Wait whose failure also says what explain returns then
// (the state that should have sent the mails), when explain is not nil.
func (r *Relay) WaitExplained(t testing.TB, n int, timeout time.Duration, explain func() string) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		// Counted without copying: a burst of thousands wakes this loop
		// once per mail.
		r.mu.Lock()
		got := len(r.mails)
		r.mu.Unlock()
		if got >= n {
			return r.Mails()
		}
		select {
		case <-r.arrived:
		case <-deadline:
			why := ""
			if explain != nil {
				why = "; " + explain()
			}
			t.Fatalf("relay received %d mails within %v, want %d%s", len(r.Mails()), timeout, n, why)
		}
	}
}

// EachConversationOnce fails the test unless the relay accepted exactly one
// mail for each of n conversations (X-Parley-Conversation), after waiting
// settle for a late duplicate.
func (r *Relay) EachConversationOnce(t testing.TB, n int, settle time.Duration) {
	t.Helper()
	time.Sleep(settle)
	seen := map[string]bool{}
	for _, m := range r.Mails() {
		id := m.Msg.Header.Get("X-Parley-Conversation")
		if seen[id] {
			t.Errorf("conversation %s emailed twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("%d conversations emailed, want %d", len(seen), n)
	}
}

// NewSession implements smtp.Backend.
func (r *Relay) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }

type relaySession struct {
	r    *Relay
	from string
	to   []string
}

func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *relaySession) Data(rd io.Reader) error {
	raw, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	r := s.r
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return errors.New("unparsable message")
	}
	r.mu.Lock()
	hold, held := r.hold, r.held
	r.mu.Unlock()
	tempFail := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	if hold != nil {
		held <- struct{}{}
		<-hold
		return tempFail
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.ids = append(r.ids, msg.Header.Get("Message-ID"))
	if r.refuse > 0 {
		r.refuse--
		return tempFail
	}
	r.mails = append(r.mails, Mail{From: s.from, To: s.to, Raw: raw, Msg: msg, Accepted: time.Now()})
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	return nil
}

// Text returns the header and every part of the mail, decoded
// (quoted-printable, base64), so that a search in it misses nothing an
// encoding hides.
func (m Mail) Text() (string, error) {
	var b strings.Builder
	for k, v := range m.Msg.Header {
		b.WriteString(k + ": " + strings.Join(v, ", ") + "\n")
	}
	err := m.eachPart(func(_ string, body []byte) { b.Write(body) })
	return b.String(), err
}

// Parts returns the decoded body of each part by its media type
// ("text/plain", "text/html"; the last part of a type wins).
func (m Mail) Parts() (map[string]string, error) {
	parts := map[string]string{}
	err := m.eachPart(func(typ string, body []byte) { parts[typ] = string(body) })
	return parts, err
}

// eachPart calls fn with the media type and decoded body of every leaf
// part of the mail, in order (the body itself when it is not multipart).
func (m Mail) eachPart(fn func(typ string, body []byte)) error {
	typ, params, err := mime.ParseMediaType(m.Msg.Header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("content type: %w", err)
	}
	if !strings.HasPrefix(typ, "multipart/") {
		raw, err := io.ReadAll(decodedBody(m.Msg.Header.Get("Content-Transfer-Encoding"), bytes.NewReader(m.body())))
		fn(typ, raw)
		return err
	}
	var walk func(r io.Reader, boundary string) error
	walk = func(r io.Reader, boundary string) error {
		mr := multipart.NewReader(r, boundary)
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			typ, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if strings.HasPrefix(typ, "multipart/") {
				if err := walk(p, ps["boundary"]); err != nil {
					return err
				}
				continue
			}
			raw, err := io.ReadAll(decodedBody(p.Header.Get("Content-Transfer-Encoding"), p))
			if err != nil {
				return err
			}
			fn(typ, raw)
		}
	}
	return walk(bytes.NewReader(m.body()), params["boundary"])
}

// body is the raw body of the mail (Msg.Body may have been read).
func (m Mail) body() []byte {
	raw := m.Raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[i+4:]
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return raw[i+2:]
	}
	return nil
}

func decodedBody(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r)
	}
	return r
}
