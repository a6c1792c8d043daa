package inbound

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// slowSink stores a message as fakeSink does, after a wait.
type slowSink struct {
	fakeSink
	wait time.Duration
}

func (s *slowSink) Reply(ctx context.Context, id string, m *Message) error {
	time.Sleep(s.wait)
	return s.fakeSink.Reply(ctx, id, m)
}

// serveWith starts a server with its own resolver and sink.
func serveWith(t *testing.T, cfg ServerConfig, lifetime time.Duration, r Resolver, sink Sink) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Domain = "mx.test"
	srv := newServer(cfg, MaxMessageBytes, lifetime, r, sink, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// Answers whose work outlasted the session's time still go out: a message
// stored as the lifetime ends gets its 250 (or its sender sends it again),
// and a command handled past the patience limit gets its answer and the
// 421.
func TestServerLastAnswersGoOut(t *testing.T) {
	t.Run("message stored as the lifetime ends", func(t *testing.T) {
		sink := &slowSink{wait: 1500 * time.Millisecond}
		addr := serveWith(t, ServerConfig{}, time.Second, testResolver(), sink)
		c := startData(t, dialRaw(t, addr))
		io.WriteString(c, "From: v@example.com\r\nSubject: Re: hi\r\n\r\nhello\r\n.\r\n")
		l, err := c.line(5 * time.Second)
		if replies, _ := sink.calls(); len(replies) != 1 || !strings.HasPrefix(l, "250 ") {
			t.Errorf("%d stored, answer %q (%v), want one stored and its 250", len(replies), l, err)
		}
	})
	t.Run("command handled past the patience limit", func(t *testing.T) {
		base := testResolver()
		slow := func(a string) (Recipient, bool) { time.Sleep(500 * time.Millisecond); return base(a) }
		addr := serveWith(t, ServerConfig{IdleSession: 400 * time.Millisecond}, time.Minute, slow, &fakeSink{})
		c := dialRaw(t, addr)
		c.line(5 * time.Second)
		c.send(t, "EHLO client.test", "250")
		c.send(t, "MAIL FROM:<v@example.com>", "250")
		io.WriteString(c, "RCPT TO:<"+replyAddress(testConv)+">\r\n")
		var got []string
		for {
			l, err := c.line(5 * time.Second)
			if l != "" {
				got = append(got, strings.TrimSpace(l))
			}
			if err != nil {
				break
			}
		}
		if len(got) != 2 || !strings.HasPrefix(got[0], "250 ") || !strings.HasPrefix(got[1], "421 ") {
			t.Errorf("answers %q, want the RCPT's 250 and a 421", got)
		}
	})
}
