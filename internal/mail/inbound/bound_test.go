package inbound

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSpoolRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, spoolMemoryBytes - 1, spoolMemoryBytes, spoolMemoryBytes + 1, 3 << 20} {
		in := make([]byte, size)
		for i := range in {
			in[i] = byte(i*7 + i/251)
		}
		s, err := spoolMessage(bytes.NewReader(in), 4<<20)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		got, err := s.bytes()
		s.close()
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("%d bytes: read back %d bytes, err %v", size, len(got), err)
		}
		if (s.file != nil) != (size >= spoolMemoryBytes) {
			t.Errorf("%d bytes: spooled to a file: %v", size, s.file != nil)
		}
	}
	s, err := spoolMessage(strings.NewReader(strings.Repeat("x", 1001)), 1000)
	s.close()
	if !errors.Is(err, errOverLimit) {
		t.Errorf("over the limit: err %v", err)
	}
}

func TestJudgeEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		toReply    bool
		nullSender bool
		header     string
		want       envelopeVerdict
	}{
		{"reply address", true, false, "Content-Type: text/html\r\n\r\n", takeMessage},
		{"DSN", false, true, "From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n", takeBounce},
		{"global DSN", false, false, "Content-Type: multipart/report; report-type=global-delivery-status; boundary=b\r\n\r\n", takeBounce},
		{"read receipt", false, false, "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n", dropMessage},
		{"auto-reply", false, false, "From: a@example.com\r\nAuto-Submitted: auto-replied\r\nContent-Type: text/html\r\n\r\n", dropMessage},
		{"out of office subject", false, false, "From: a@example.com\r\nSubject: Out of office\r\n\r\n", dropMessage},
		{"null sender", false, true, "From: a@example.com\r\nContent-Type: text/plain\r\n\r\n", dropMessage},
		{"stranger's HTML", false, false, "From: a@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n", refuseMessage},
		{"no header", false, false, "", refuseMessage},
	}
	for _, tt := range tests {
		if got := judgeEnvelope(tt.toReply, tt.nullSender, []byte(tt.header)); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

// FuzzJudgeEnvelope feeds the header-first judgement of messages for the
// bounce address arbitrary header blocks: it must never panic, and never
// take a message as a bounce that Parse would not read as a report.
func FuzzJudgeEnvelope(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, nullSender bool) {
		head, err := readHeaderBlock(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		v := judgeEnvelope(false, nullSender, head)
		if v != takeBounce {
			return
		}
		hb, _ := splitHeader(head)
		if mt, _ := contentType(parseHeader(hb)); mt != "multipart/report" {
			t.Fatalf("taken as a bounce with Content-Type %q", mt)
		}
	})
}
