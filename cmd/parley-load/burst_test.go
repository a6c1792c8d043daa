package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestSinkCountsExpectedConversationsOnce(t *testing.T) {
	sink, err := startSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.close()
	addr := sink.addr
	send := func(conv, id string) {
		t.Helper()
		msg := fmt.Sprintf("Message-Id: <%s@example.test>\r\nX-Parley-Conversation: %s\r\nSubject: hi\r\n\r\nbody\r\n", id, conv)
		c, err := smtp.Dial(addr) // plain, as Parley talks to a loopback relay
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail("parley@example.test", []string{"v@example.test"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}
	send("early", "m0") // before expect: still counted when expected
	sink.expect(map[string]bool{"early": true, "a": true, "b": true})
	if got := sink.received(); got != 1 {
		t.Errorf("received %d after expect, want 1", got)
	}
	send("a", "m1")
	send("a", "m2")     // a duplicate: not counted twice
	send("other", "m3") // not expected
	if got := sink.received(); got != 2 {
		t.Errorf("received %d, want 2", got)
	}
	send("b", "m4")
	if got := sink.received(); got != 3 {
		t.Errorf("received %d, want 3", got)
	}

	var rep burstReport
	rep.Expected = 3
	rep.summarize(sink.snapshot(), map[string]bool{"early": true, "a": true, "b": true}, time.Time{})
	if rep.Received != 3 || rep.DuplicateConversations != 1 || rep.Unexpected != 1 || rep.Missing != 0 {
		t.Errorf("report %+v", rep)
	}
}
