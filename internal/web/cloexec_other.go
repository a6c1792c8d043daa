//go:build !unix

package web

import (
	"log/slog"
	"net"
)

// Elsewhere nbio serves the socket net/http had: nothing to keep from
// child processes.

func holdForks() (release func()) { return func() {} }

func closeOnExec(net.Conn, *slog.Logger) {}
