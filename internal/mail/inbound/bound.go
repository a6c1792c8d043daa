package inbound

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	gomail "github.com/emersion/go-message/mail"
	"golang.org/x/sync/semaphore"
)

// Bounds on the memory that inbound mail can take, whatever arrives at
// once. A message is received into a spool (memory, then a temporary
// file) without holding a parse slot, so slow senders hold no more than
// spoolMemoryBytes each; it is read back and parsed only once
// parseBudgetBytes allows it.
const (
	// spoolMemoryBytes of a message are kept in memory; the rest goes to a
	// temporary file until the message is parsed.
	spoolMemoryBytes = 256 << 10
	// parseBudgetBytes bounds the raw bytes of the messages parsed at
	// once: about two messages of the largest size, or many small ones.
	// Parsing a message costs a few times its size.
	parseBudgetBytes = 2 * MaxMessageBytes
	// maxBounceBytes is the largest message taken for the bounce address.
	// A delivery status notification is a short report and at most the
	// returned email, which Parley wrote and keeps small.
	maxBounceBytes = 2 << 20
)

// parseBudget is shared by every inbound path (SMTP server and HTTP hook),
// as the memory it protects is the process's.
var parseBudget = semaphore.NewWeighted(parseBudgetBytes)

// errOverLimit is returned by spoolMessage for a message over its limit.
var errOverLimit = errors.New("message over the size limit")

// spool holds one raw message as it arrives.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	n    int64
}

// spoolMessage reads r to its end into a spool, failing with
// errOverLimit beyond limit bytes. The caller closes the spool.
func spoolMessage(r io.Reader, limit int64) (*spool, error) {
	s := &spool{}
	n, err := io.Copy(&s.mem, io.LimitReader(r, spoolMemoryBytes))
	s.n = n
	if err != nil {
		return s, fmt.Errorf("read message: %w", err)
	}
	if n == spoolMemoryBytes {
		f, err := os.CreateTemp("", "parley-inbound-*.eml")
		if err != nil {
			return s, fmt.Errorf("spool message: %w", err)
		}
		// Unlinked at once: the file goes with the last descriptor, even
		// if the process dies.
		os.Remove(f.Name())
		s.file = f
		m, err := io.Copy(f, io.LimitReader(r, limit+1-n))
		s.n += m
		if err != nil {
			return s, fmt.Errorf("read message: %w", err)
		}
	}
	if s.n > limit {
		return s, errOverLimit
	}
	return s, nil
}

// bytes returns the whole message in one allocation of its size.
func (s *spool) bytes() ([]byte, error) {
	if s.file == nil {
		return s.mem.Bytes(), nil
	}
	b := make([]byte, s.n)
	copy(b, s.mem.Bytes())
	if _, err := s.file.ReadAt(b[s.mem.Len():], 0); err != nil {
		return nil, fmt.Errorf("read spooled message: %w", err)
	}
	return b, nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// parseSpooled parses a spooled message like Parse, once its size fits in
// the parse budget; it waits for that until ctx ends.
func parseSpooled(ctx context.Context, s *spool) (*Message, error) {
	weight := max(s.n, 1)
	if err := parseBudget.Acquire(ctx, weight); err != nil {
		return nil, fmt.Errorf("wait to parse message: %w", err)
	}
	defer parseBudget.Release(weight)
	raw, err := s.bytes()
	if err != nil {
		return nil, err
	}
	return parse(raw)
}

// readHeaderBlock reads the header block of a message from br (the lines
// up to the empty line, or up to maxHeaderBytes) without consuming the
// body, and returns it with the parsed header.
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var block []byte
	for len(block) <= maxHeaderBytes {
		line, err := br.ReadSlice('\n')
		block = append(block, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return block, err
		}
	}
	return block, nil
}

// envelopeVerdict is what the envelope and header of a message say about
// it before its body is read.
type envelopeVerdict int

const (
	takeMessage   envelopeVerdict = iota // a reply: read and parse it
	takeBounce                           // a delivery status notification: read and parse it, if small
	dropMessage                          // an automatic message to the bounce address: accept and discard unread
	refuseMessage                        // anything else to the bounce address: refuse unread
)

// judgeEnvelope decides from the recipients and the header alone what a
// message is. Only a message for the bounce address alone is judged: a
// delivery status notification (RFC 3464: multipart/report;
// report-type=delivery-status) is taken; other reports, auto-replies and
// messages from the null sender are dropped unread; anything else is
// refused, so that no stranger's body is parsed for an address that
// accepts no replies.
func judgeEnvelope(toReplyAddress, nullSender bool, header []byte) envelopeVerdict {
	if toReplyAddress {
		return takeMessage
	}
	hb, _ := splitHeader(header)
	h := parseHeader(hb)
	if mediaType, params := contentType(h); mediaType == "multipart/report" {
		switch strings.ToLower(params["report-type"]) {
		case "delivery-status", "global-delivery-status":
			return takeBounce
		}
		return dropMessage
	}
	stub := &Message{From: firstAddress(gomail.Header{Header: h}, "From"), Subject: clean(headerText(h, "Subject"))}
	if nullSender || autoReply(h, stub) != "" {
		return dropMessage
	}
	return refuseMessage
}
