package inbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/parleychat/parley/internal/token"
)

const (
	testDomain = "reply.acme.example"
	testBounce = "parley@acme.example"
	testConv   = "01jnd3k9q7r2v8w4x6y0z5a1bc"
)

var testSigner = token.NewSigner([]byte("inbound test secret, 32 bytes at least"))

func replyAddress(conversationID string) string {
	return "reply+" + testSigner.Sign(token.Reply, conversationID) + "@" + testDomain
}

func testResolver() Resolver { return TokenResolver(testSigner, testDomain, testBounce) }

// fakeSink records what it receives and answers err.
type fakeSink struct {
	mu      sync.Mutex
	err     error
	replies []sinkReply
	bounces []*Message
}

type sinkReply struct {
	conversation string
	m            *Message
}

func (s *fakeSink) Reply(_ context.Context, conversationID string, m *Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.replies = append(s.replies, sinkReply{conversationID, m})
	return nil
}

func (s *fakeSink) Bounce(_ context.Context, m *Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.bounces = append(s.bounces, m)
	return nil
}

func (s *fakeSink) calls() (replies []sinkReply, bounces []*Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkReply(nil), s.replies...), append([]*Message(nil), s.bounces...)
}

func TestTokenResolver(t *testing.T) {
	resolve := testResolver()
	valid := replyAddress(testConv)
	tok := strings.TrimSuffix(strings.TrimPrefix(valid, "reply+"), "@"+testDomain)
	altered := []byte(tok)
	altered[5] = map[bool]byte{true: 'b', false: 'a'}[altered[5] == 'a']

	tests := []struct {
		addr string
		want Recipient
		ok   bool
	}{
		{valid, Recipient{ConversationID: testConv}, true},
		{strings.ToUpper(valid), Recipient{ConversationID: testConv}, true},
		{"<" + valid + ">", Recipient{ConversationID: testConv}, true},
		{`"Alex via ACME" <` + valid + ">", Recipient{ConversationID: testConv}, true},
		{valid + ".", Recipient{ConversationID: testConv}, true}, // trailing root dot
		{replyAddress("4f2a9c"), Recipient{ConversationID: "4f2a9c"}, true},
		{"reply+" + string(altered) + "@" + testDomain, Recipient{}, false},
		{"reply+" + tok + "aa@" + testDomain, Recipient{}, false},
		{"reply+" + testSigner.Sign(token.Unsubscribe, testConv) + "@" + testDomain, Recipient{}, false},
		{"reply+" + tok + "@other.example", Recipient{}, false},
		{"reply+" + tok + "@sub." + testDomain, Recipient{}, false},
		{"other+" + tok + "@" + testDomain, Recipient{}, false},
		{tok + "@" + testDomain, Recipient{}, false},
		{"reply+@" + testDomain, Recipient{}, false},
		{"reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@" + testDomain, Recipient{}, false},
		{"someone@gmail.com", Recipient{}, false},
		{testBounce, Recipient{Bounces: true}, true},
		{"Parley@ACME.example", Recipient{Bounces: true}, true},
		{"", Recipient{}, false},
		{"@", Recipient{}, false},
		{"reply+" + tok, Recipient{}, false},
	}
	for _, tc := range tests {
		got, ok := resolve(tc.addr)
		if got != tc.want || ok != tc.ok {
			t.Errorf("resolve(%q) = %+v, %v; want %+v, %v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}

	// A bounce address written with a display name in the configuration.
	resolve = TokenResolver(testSigner, testDomain, `"Parley" <Parley@acme.example>`)
	if r, ok := resolve(testBounce); !ok || !r.Bounces {
		t.Errorf("bounce address with a display name: %+v, %v", r, ok)
	}
}

func TestDispatch(t *testing.T) {
	reply := &Message{MessageID: "r@x", NewText: "hello"}
	auto := &Message{MessageID: "a@x", AutoReply: "Auto-Submitted: auto-replied"}
	bounce := &Message{MessageID: "b@x", AutoReply: "Auto-Submitted: auto-replied", Bounce: &Bounce{Status: "5.1.1"}}
	conv2 := "01jnd40m2c8fh6t3s9k1p7q4xd"
	sinkErr := errors.New("database down")

	tests := []struct {
		name     string
		m        *Message
		rcpts    []string
		sinkErr  error
		want     error  // errors.Is
		wantConv string // the conversation Reply got; "" if none
		bounced  bool
	}{
		{name: "reply", m: reply, rcpts: []string{replyAddress(testConv)}, wantConv: testConv},
		{name: "first resolving recipient wins", m: reply,
			rcpts: []string{"someone@example.com", replyAddress(conv2), replyAddress(testConv)}, wantConv: conv2},
		{name: "conversation preferred to the bounce address", m: reply,
			rcpts: []string{testBounce, replyAddress(testConv)}, wantConv: testConv},
		{name: "no recipient resolves", m: reply, rcpts: []string{"a@example.com", "reply+forged@" + testDomain}, want: ErrUnknownRecipient},
		{name: "no recipients", m: reply, want: ErrUnknownRecipient},
		{name: "a reply to the bounce address", m: reply, rcpts: []string{testBounce}, want: ErrUnknownRecipient},
		{name: "auto-reply dropped", m: auto, rcpts: []string{replyAddress(testConv)}},
		{name: "auto-reply to the bounce address dropped", m: auto, rcpts: []string{testBounce}},
		{name: "auto-reply to no one", m: auto, rcpts: []string{"a@example.com"}, want: ErrUnknownRecipient},
		{name: "bounce before auto-reply", m: bounce, rcpts: []string{testBounce}, bounced: true},
		{name: "bounce sent to a reply address", m: bounce, rcpts: []string{replyAddress(testConv)}, bounced: true},
		{name: "sink error", m: reply, rcpts: []string{replyAddress(testConv)}, sinkErr: sinkErr, want: sinkErr},
		{name: "sink error on a bounce", m: bounce, rcpts: []string{testBounce}, sinkErr: sinkErr, want: sinkErr},
		{name: "sink says the conversation is gone", m: reply, rcpts: []string{replyAddress(testConv)},
			sinkErr: fmt.Errorf("conversation deleted: %w", ErrUnknownRecipient), want: ErrUnknownRecipient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{err: tc.sinkErr}
			err := Dispatch(context.Background(), tc.m, tc.rcpts, testResolver(), sink, nil)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Dispatch = %v, want %v", err, tc.want)
			}
			replies, bounces := sink.calls()
			if tc.sinkErr != nil {
				return
			}
			switch {
			case tc.wantConv == "" && len(replies) > 0:
				t.Errorf("Reply called: %+v", replies)
			case tc.wantConv != "" && (len(replies) != 1 || replies[0].conversation != tc.wantConv || replies[0].m != tc.m):
				t.Errorf("replies = %+v, want one to %s", replies, tc.wantConv)
			case tc.bounced != (len(bounces) == 1 && bounces[0] == tc.m):
				t.Errorf("bounces = %v, want bounced %v", bounces, tc.bounced)
			}
		})
	}
}
