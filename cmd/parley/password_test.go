//go:build linux

package main_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/logging/logtest"
)

// openTerminal opens a pseudo-terminal: the controller end, which types
// what a person would, and the terminal a command reads as its stdin.
func openTerminal(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("name the pseudo-terminal: %v", err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	return ptmx, tty
}

// silent reports whether the terminal's echo is off.
func silent(t *testing.T, terminal *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(terminal.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("read the terminal's settings: %v", err)
	}
	return tio.Lflag&unix.ECHO == 0
}

// atTerminal is `parley agent add --password-stdin` run on a terminal.
type atTerminal struct {
	t                    *testing.T
	cmd                  *exec.Cmd
	controller, terminal *os.File
	stdout               bytes.Buffer
	stderr               logtest.Buffer // written while the test reads it
	echoed               chan string    // what the terminal showed back, once it closed
}

func startAtTerminal(t *testing.T, bin string, env []string, email string) *atTerminal {
	t.Helper()
	a := &atTerminal{t: t, echoed: make(chan string, 1)}
	a.controller, a.terminal = openTerminal(t)
	a.cmd = exec.Command(bin, "agent", "add", "--email", email, "--name", "Ann", "--password-stdin")
	a.cmd.Env = env
	a.cmd.Stdin, a.cmd.Stdout, a.cmd.Stderr = a.terminal, &a.stdout, &a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil { // left waiting for a password
			_ = a.cmd.Process.Kill()
			_ = a.cmd.Wait()
		}
	})
	go func() {
		b, _ := io.ReadAll(a.controller)
		a.echoed <- string(b)
	}()
	return a
}

// prompted waits for prompt on stderr, then for the echo to go off (the
// prompt comes first): the moment a person would type.
func (a *atTerminal) prompted(prompt string) {
	a.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(a.stderr.String(), prompt) || !silent(a.t, a.terminal); {
		if time.Now().After(deadline) {
			a.t.Fatalf("no %q on stderr with the echo off; stderr holds %q", prompt, a.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for the command to end and returns what the terminal
// echoed, and the command's error.
func (a *atTerminal) wait() (string, error) {
	err := a.cmd.Wait()
	a.terminal.Close()
	a.controller.Close()
	return <-a.echoed, err
}

// TestAgentAddAtATerminal runs `agent add --password-stdin` on a terminal,
// as the first run's hint tells a newcomer to: it asks for the password on
// stderr, twice, does not echo it, and refuses two that differ.
func TestAgentAddAtATerminal(t *testing.T) {
	bin := apptest.BuildParley(t)
	env := []string{
		"PARLEY_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_SECRET=terminal-test-secret-0123456789",
		"PARLEY_LOG_LEVEL=warn",
	}
	tests := []struct {
		name, email, first, again string
		ok                        bool
	}{
		{"the same twice", "ann@example.com", "a long enough password", "a long enough password", true},
		{"two that differ", "bob@example.com", "a long enough password", "another long password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAtTerminal(t, bin, env, tt.email)
			a.prompted("Password for " + tt.email + ": ")
			io.WriteString(a.controller, tt.first+"\n")
			a.prompted("Again: ")
			io.WriteString(a.controller, tt.again+"\n")
			shown, err := a.wait()
			if strings.Contains(shown, "password") {
				t.Errorf("the terminal echoed the password: %q", shown)
			}
			list := apptest.Run(t, bin, env, "", "agent", "list")
			if tt.ok {
				if err != nil || len(strings.Fields(a.stdout.String())) != 1 {
					t.Fatalf("agent add: %v, stdout %q (want the id), stderr %q", err, a.stdout.String(), a.stderr.String())
				}
				if !strings.Contains(list, tt.email) {
					t.Errorf("agent list does not show %s:\n%s", tt.email, list)
				}
				return
			}
			if err == nil || !strings.Contains(a.stderr.String(), "the two passwords typed differ") {
				t.Fatalf("agent add with two passwords that differ: %v, stderr %q", err, a.stderr.String())
			}
			if strings.Contains(list, tt.email) {
				t.Errorf("an agent was created anyway:\n%s", list)
			}
		})
	}

	// A password too short is refused at once and asked for again; an
	// address taken is refused before any password is asked for.
	t.Run("too short, then long enough", func(t *testing.T) {
		a := startAtTerminal(t, bin, env, "eve@example.com")
		a.prompted("Password for eve@example.com: ")
		io.WriteString(a.controller, "short\n")
		a.prompted("at least 8 characters; try again.")
		a.prompted("Password for eve@example.com: ")
		io.WriteString(a.controller, "a long enough password\n")
		a.prompted("Again: ")
		io.WriteString(a.controller, "a long enough password\n")
		if _, err := a.wait(); err != nil || len(strings.Fields(a.stdout.String())) != 1 {
			t.Fatalf("agent add: %v, stdout %q, stderr %q", err, a.stdout.String(), a.stderr.String())
		}
	})
	t.Run("an address taken", func(t *testing.T) {
		a := startAtTerminal(t, bin, env, "ann@example.com")
		kill := time.AfterFunc(10*time.Second, func() { _ = a.cmd.Process.Kill() })
		err := a.cmd.Wait()
		kill.Stop()
		if err == nil || !strings.Contains(a.stderr.String(), "an agent with this email exists") || strings.Contains(a.stderr.String(), "Password for") {
			t.Errorf("agent add of a taken address: %v, stderr %q", err, a.stderr.String())
		}
	})

	// Ctrl-D at the prompt ends it, as at a shell's: nothing created, the
	// echo back.
	t.Run("end of input", func(t *testing.T) {
		a := startAtTerminal(t, bin, env, "di@example.com")
		a.prompted("Password for di@example.com: ")
		io.WriteString(a.controller, "\x04")
		kill := time.AfterFunc(10*time.Second, func() { _ = a.cmd.Process.Kill() })
		err := a.cmd.Wait()
		kill.Stop()
		if err == nil || !strings.Contains(a.stderr.String(), "no password typed") {
			t.Errorf("agent add after Ctrl-D: %v, stderr %q", err, a.stderr.String())
		}
		if silent(t, a.terminal) {
			t.Error("the terminal's echo stays off after Ctrl-D")
		}
		if list := apptest.Run(t, bin, env, "", "agent", "list"); strings.Contains(list, "di@example.com") {
			t.Errorf("an agent was created anyway:\n%s", list)
		}
	})

	// Interrupted at the prompt (Ctrl-C), it gives the terminal its echo
	// back before it ends.
	t.Run("interrupted", func(t *testing.T) {
		a := startAtTerminal(t, bin, env, "cy@example.com")
		a.prompted("Password for cy@example.com: ")
		if err := a.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		kill := time.AfterFunc(10*time.Second, func() { _ = a.cmd.Process.Kill() })
		err := a.cmd.Wait()
		kill.Stop()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 {
			t.Errorf("interrupted agent add: %v, want exit status 130", err)
		}
		if silent(t, a.terminal) {
			t.Error("the terminal's echo stays off after the interrupt")
		}
	})
}
