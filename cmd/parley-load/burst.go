package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// mailSink is the SMTP relay Parley forwards to during the burst: it
// accepts everything and records when each email arrived.
type mailSink struct {
	srv     *smtp.Server
	addr    string // where it listens
	mu      sync.Mutex
	mails   []sinkMail
	seen    map[string]bool // conversations emailed
	want    map[string]bool // conversations expected (see expect)
	got     int             // expected conversations emailed
	arrived chan struct{}   // signalled (not counted) on each arrival
}

type sinkMail struct {
	at           time.Time
	messageID    string
	conversation string // X-Parley-Conversation
}

func startSink(addr string) (*mailSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("SMTP sink: %w", err)
	}
	s := &mailSink{arrived: make(chan struct{}, 1), seen: map[string]bool{}, addr: ln.Addr().String()}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "parley-load.sink"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 32 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up are no news
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *mailSink) close() { _ = s.srv.Close() }

// expect sets the conversations whose emails received counts.
func (s *mailSink) expect(want map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want, s.got = want, 0
	for c := range s.seen {
		if want[c] {
			s.got++
		}
	}
}

// received is how many expected conversations were emailed at least once.
// It is kept as mails arrive: the waiting loop asks after each one.
func (s *mailSink) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

func (s *mailSink) snapshot() []sinkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMail(nil), s.mails...)
}

// NewSession implements smtp.Backend.
func (s *mailSink) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }

type sinkSession struct{ s *mailSink }

func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }
func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (ss sinkSession) Data(r io.Reader) error {
	m := sinkMail{}
	if msg, err := mail.ReadMessage(r); err == nil {
		m.messageID = msg.Header.Get("Message-Id")
		m.conversation = msg.Header.Get("X-Parley-Conversation")
		r = msg.Body
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	m.at = time.Now()
	s := ss.s
	s.mu.Lock()
	s.mails = append(s.mails, m)
	if !s.seen[m.conversation] {
		s.seen[m.conversation] = true
		if s.want[m.conversation] {
			s.got++
		}
	}
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

type burstReport struct {
	Visitors               int       `json:"visitors"`
	Open                   stepStats `json:"open"`
	Identify               stepStats `json:"identify_and_write"`
	Reply                  stepStats `json:"agent_reply"`
	Left                   int       `json:"left"`
	LeaveSeconds           float64   `json:"leave_seconds"` // closing every widget took
	Expected               int       `json:"expected"`
	Received               int       `json:"received"` // distinct expected conversations emailed
	Missing                int       `json:"missing"`
	DuplicateConversations int       `json:"duplicate_conversations"`
	DuplicateMessageIDs    int       `json:"duplicate_message_ids"`
	Early                  int       `json:"early"`      // emails before the visitors left
	Unexpected             int       `json:"unexpected"` // emails for other conversations
	TimeoutSeconds         float64   `json:"timeout_seconds"`
	AllAcceptedSeconds     *float64  `json:"all_accepted_seconds"` // nil unless all arrived
	FirstSeconds           float64   `json:"first_seconds"`
	P50Seconds             float64   `json:"p50_seconds"`
	P99Seconds             float64   `json:"p99_seconds"`
	LastSeconds            float64   `json:"last_seconds"`
}

// dupWatch is how long the sink keeps listening once every expected email
// arrived, to catch duplicates.
const dupWatch = 3 * time.Second

// burstPhase opens cfg.burst new widgets; each visitor leaves its email and
// writes once, the agent replies once to each, then all leave at once and
// the sink times the forwarded emails.
func burstPhase(ctx context.Context, cfg config, op *opener, ag *agent, sink *mailSink, logf func(string, ...any)) (*burstReport, error) {
	rep := &burstReport{Visitors: cfg.burst, TimeoutSeconds: cfg.burstTimeout.Seconds()}
	logf("burst: opening %d widgets at %.0f/s", cfg.burst, cfg.connectRate)
	fl, st := openFleet(ctx, logf, op, cfg.burst, cfg.connectRate)
	defer fl.closeAll(false) // no-op once they left
	rep.Open = st
	logf("burst: opened %s", st)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if len(fl.widgets) == 0 {
		return rep, fmt.Errorf("burst: no widget connection opened (%s)", countsString(st.Errors))
	}

	rep.Identify = paced(ctx, logf, "burst: identify + write", len(fl.widgets), cfg.connectRate, func(ctx context.Context, i int) error {
		w := fl.widgets[i]
		if err := w.identify(ctx, fmt.Sprintf("load%d@example.test", w.n), fmt.Sprintf("Load %d", w.n)); err != nil {
			return err
		}
		return w.say(ctx, "Hello, I may leave before you answer.", fmt.Sprintf("burst-%d", w.n))
	})
	logf("burst: identified and wrote: %s", rep.Identify)
	var ready []*widget
	for _, w := range fl.widgets {
		if w.convID != "" {
			ready = append(ready, w)
		}
	}
	replied := make([]bool, len(ready))
	rep.Reply = paced(ctx, logf, "burst: agent replies", len(ready), cfg.replyRate, func(ctx context.Context, i int) error {
		if err := ag.reply(ctx, ready[i].convID, fmt.Sprintf("Load burst reply %d: here is your answer.", ready[i].n)); err != nil {
			return err
		}
		replied[i] = true
		return nil
	})
	logf("burst: agent replied: %s", rep.Reply)
	expected := map[string]bool{}
	for i, ok := range replied {
		if ok {
			expected[ready[i].convID] = true
		}
	}
	rep.Expected = len(expected)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if rep.Expected == 0 {
		return rep, errors.New("burst: no conversation got a reply")
	}

	logf("burst: all %d visitors leave now", len(fl.widgets))
	left := time.Now()
	fl.closeAll(true)
	rep.Left = len(fl.widgets)
	rep.LeaveSeconds = time.Since(left).Seconds()

	sink.expect(expected)
	received := sink.received
	stop := progress(logf, "burst: waiting for emails", func() string {
		return fmt.Sprintf(": %d of %d received", received(), rep.Expected)
	})
	deadline := time.NewTimer(cfg.burstTimeout - time.Since(left))
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for received() < rep.Expected {
		select {
		case <-ctx.Done():
			break wait
		case <-deadline.C:
			break wait
		case <-sink.arrived:
		case <-tick.C:
		}
	}
	if received() == rep.Expected && ctx.Err() == nil {
		select { // late duplicates
		case <-time.After(dupWatch):
		case <-ctx.Done():
		}
	}
	stop()
	rep.summarize(sink.snapshot(), expected, left)
	logf("burst: %d of %d emails received, %d missing", rep.Received, rep.Expected, rep.Missing)
	return rep, ctx.Err()
}

// summarize fills the mail figures from what the sink received.
func (rep *burstReport) summarize(mails []sinkMail, expected map[string]bool, left time.Time) {
	perConv := map[string]int{}
	perID := map[string]int{}
	var firsts []time.Duration
	for _, m := range mails {
		if m.messageID != "" {
			if perID[m.messageID]++; perID[m.messageID] > 1 {
				rep.DuplicateMessageIDs++
			}
		}
		if !expected[m.conversation] {
			rep.Unexpected++
			continue
		}
		if m.at.Before(left) {
			rep.Early++
		}
		if perConv[m.conversation]++; perConv[m.conversation] > 1 {
			rep.DuplicateConversations++
			continue
		}
		firsts = append(firsts, m.at.Sub(left))
	}
	rep.Received = len(firsts)
	rep.Missing = rep.Expected - rep.Received
	if len(firsts) == 0 {
		return
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	sec := func(q float64) float64 { return percentile(firsts, q) / 1000 }
	rep.FirstSeconds, rep.P50Seconds, rep.P99Seconds, rep.LastSeconds = sec(0), sec(0.5), sec(0.99), sec(1)
	if rep.Missing == 0 {
		all := rep.LastSeconds
		rep.AllAcceptedSeconds = &all
	}
}
