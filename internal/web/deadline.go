package web

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Deadlines: a client that sends its request or reads its answer slowly
// holds a descriptor and a goroutine. The server's ReadHeaderTimeout (set
// where the http.Server is made) bounds the request line and headers;
// setDeadlines bounds each request's body and answer; a WebSocket's
// handshake has its own bound, after which a widget's connection lives on
// its pings.

const (
	// BodyReadTimeout bounds reading a request body: a JSON call or a
	// dashboard form is a few kilobytes.
	BodyReadTimeout = 30 * time.Second
	// inboundReadTimeout bounds the body of POST /api/inbound/v1/mime (up
	// to 25 MiB from a mail provider).
	inboundReadTimeout = 5 * time.Minute
	// WriteTimeout bounds writing an answer (an attachment is at most 25
	// MiB).
	WriteTimeout = 5 * time.Minute
	// handshakeTimeout bounds a WebSocket upgrade once the handler has it.
	handshakeTimeout = 10 * time.Second
)

// setDeadlines bounds the reading of r's body and the writing of its
// answer on the connection. It fails only on a writer that is no
// connection's (a test recorder), which needs no bound.
func (s *Server) setDeadlines(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	read := s.opts.BodyReadTimeout
	if r.URL.Path == "/api/inbound/v1/mime" {
		read = max(read, inboundReadTimeout)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(now.Add(read))
	_ = rc.SetWriteDeadline(now.Add(WriteTimeout))
}

// hijackGuard hands the WebSocket library the connection with a deadline
// for the handshake (and, for widgets, small buffers instead of the HTTP
// server's 4 KiB ones: larger frames are read and written past the buffer,
// straight to the socket). upgraded clears the deadline once the
// handshake is done: from then on pings and write timeouts bound the
// connection.
type hijackGuard struct {
	http.ResponseWriter
	small bool
	nc    net.Conn
}

// A widget's buffers, held as long as it is open. What a widget sends is
// mostly small (typing, read receipts, pongs): a frame that fits in 256
// bytes takes one read, a longer one (a long message) two, the rest of it
// read straight into its own slice. What it is sent (message events,
// mostly under 1 KiB) is written whole from a 1 KiB buffer: smaller, most
// frames would take two writes.
const (
	smallReadBuffer  = 256
	smallWriteBuffer = 1 << 10
)

func (g *hijackGuard) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(g.ResponseWriter).Hijack()
	if err != nil {
		return nc, brw, err
	}
	g.nc = nc
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if !g.small || brw.Reader.Buffered() > 0 {
		return nc, brw, nil
	}
	return nc, bufio.NewReadWriter(bufio.NewReaderSize(nc, smallReadBuffer), bufio.NewWriterSize(nc, smallWriteBuffer)), nil
}

// writeFrame sends one text frame on c, the WebSocket made over socket nc,
// within timeout: a client that stops reading fails the write and loses
// its connection. The limit is a deadline on the socket, lifted after the
// frame, rather than a context's: a context with a deadline costs a timer,
// its channel and the WebSocket's watch of it (about 800 bytes of garbage)
// for every frame of every connection. Pings and the close frame keep
// their contexts: they write seldom, and a deadline left on the socket
// would cut them.
func writeFrame(nc net.Conn, c *websocket.Conn, frame []byte, timeout time.Duration) error {
	if err := nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	err := c.Write(context.Background(), websocket.MessageText, frame)
	_ = nc.SetWriteDeadline(time.Time{})
	return err
}

// upgraded lifts the handshake's deadline.
func (g *hijackGuard) upgraded() {
	if g.nc != nil {
		_ = g.nc.SetDeadline(time.Time{})
	}
}
