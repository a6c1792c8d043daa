package inbound

import (
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A client that pipelines commands and reads the answers slowly holds its
// slot no longer than one that sends nothing: a blocked answer is cut as a
// wait is, not left until the session's lifetime ends.
func TestServerSlowReaderFreesItsSlot(t *testing.T) {
	const (
		idle     = 300 * time.Millisecond
		lifetime = 6 * time.Second
	)
	s := startServer(t, serverOptions{lifetime: lifetime, cfg: ServerConfig{MaxConns: 20, MaxConnsPerAddr: 1, IdleSession: idle, BusyTimeout: 2 * time.Second}})
	// A small receive buffer, so that the answers back up on the server.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	start := time.Now()
	buf := make([]byte, 512)
	c.Read(buf) // the greeting
	go func() {
		chunk := []byte(strings.Repeat("EHLO a\r\n", 1024))
		for time.Since(start) < 250*time.Millisecond {
			c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			c.Write(chunk)
		}
	}()
	go func() {
		for {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.Read(buf); err != nil {
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	// A second connection from the same address is refused while the
	// slot is held (one a client).
	for {
		p := dialFrom(t, "127.0.0.7", s.addr)
		l, _ := p.line(2 * time.Second)
		p.Close()
		if strings.HasPrefix(l, "220 ") {
			break
		}
		if time.Since(start) > lifetime {
			t.Fatalf("slot still held after the session's lifetime (%v)", lifetime)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if held := time.Since(start); held > lifetime/2 {
		t.Errorf("slot held %v by a slow reader, want about the idle limit (%v), far from the lifetime (%v)", held, idle, lifetime)
	}
}
