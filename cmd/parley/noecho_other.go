//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos)

package main

import "golang.org/x/term"

// readNoEcho reads a line typed at the terminal fd with its echo off.
func readNoEcho(fd int) ([]byte, error) { return term.ReadPassword(fd) }
