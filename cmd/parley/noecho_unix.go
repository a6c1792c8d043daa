//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos

package main

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// readNoEcho reads a line typed at the terminal fd with its echo off, as
// term.ReadPassword does, except that Ctrl-D on an empty line ends it
// with io.EOF (term.ReadPassword waits on after it).
func readNoEcho(fd int) ([]byte, error) {
	before, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, fmt.Errorf("read the terminal's settings: %w", err)
	}
	quiet := *before
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		return nil, fmt.Errorf("turn the terminal's echo off: %w", err)
	}
	defer func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, before) }()
	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 { // Ctrl-D: the end, or the line so far
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, nil
		}
		line = append(line, buf[:n]...)
		if line[len(line)-1] == '\n' {
			return line[:len(line)-1], nil
		}
	}
}
