//go:build unix

package web

import (
	"fmt"
	"log/slog"
	"net"
	"syscall"
)

// nbio takes a widget's socket from net/http by duplicating its
// descriptor (dup(2)), and unlike every descriptor Go makes, a duplicate
// is inherited by child processes. A child started meanwhile (a test's
// go build or parley process; anything a future feature runs) then holds
// the socket open after the server closed it, and the socket stays in the
// event loop's epoll under its old number: once a new widget's socket is
// given that number, the old socket's hang-up is taken for the new one's,
// and the new widget is closed right after its handshake.

// holdForks keeps child processes from starting until release runs: the
// runtime's fork takes ForkLock for writing, so no child is started
// between the duplicate's making and its marking close-on-exec.
func holdForks() (release func()) {
	syscall.ForkLock.RLock()
	return syscall.ForkLock.RUnlock
}

// closeOnExec keeps c's descriptor from child processes. A socket it
// cannot mark is logged: a widget closed right after its handshake would
// otherwise say nothing of why.
func closeOnExec(c net.Conn, log *slog.Logger) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		log.Warn("widget socket not marked close-on-exec: no descriptor", "type", fmt.Sprintf("%T", c))
		return
	}
	rc, err := sc.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) { syscall.CloseOnExec(int(fd)) })
	}
	if err != nil {
		log.Warn("widget socket not marked close-on-exec", "err", err)
	}
}
