//go:build linux

package main_test

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parleychat/parley/internal/apptest"
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

// lockedBuffer is a bytes.Buffer written by a command while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAgentAddAtATerminal runs `agent add --password-stdin` on a terminal,
// as the first run's hint tells a newcomer to: it asks for the password on
// stderr, twice, does not echo it, and refuses two that differ.
func TestAgentAddAtATerminal(t *testing.T) {
	bin := apptest.BuildParley(t)
	dir := t.TempDir()
	env := []string{
		"PARLEY_DATABASE_URL=sqlite:" + filepath.Join(dir, "parley.db"),
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
			controller, terminal := openTerminal(t)
			cmd := exec.Command(bin, "agent", "add", "--email", tt.email, "--name", "Ann", "--password-stdin")
			cmd.Env = env
			var stdout bytes.Buffer
			var stderr lockedBuffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = terminal, &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if cmd.ProcessState == nil { // left waiting for a password
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			})
			// What the terminal shows back (its echo), read as it comes.
			echoed := make(chan string, 1)
			go func() {
				b, _ := io.ReadAll(bufio.NewReader(controller))
				echoed <- string(b)
			}()
			waitFor := func(prompt string) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), prompt); {
					if time.Now().After(deadline) {
						t.Fatalf("no %q on stderr; it holds %q", prompt, stderr.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			waitFor("Password for " + tt.email + ": ")
			io.WriteString(controller, tt.first+"\n")
			waitFor("Again: ")
			io.WriteString(controller, tt.again+"\n")
			err := cmd.Wait()
			terminal.Close()
			controller.Close()
			shown := <-echoed
			if strings.Contains(shown, "password") {
				t.Errorf("the terminal echoed the password: %q", shown)
			}
			if tt.ok {
				if err != nil || len(strings.Fields(stdout.String())) != 1 {
					t.Fatalf("agent add: %v, stdout %q (want the id), stderr %q", err, stdout.String(), stderr.String())
				}
				if out := apptest.Run(t, bin, env, "", "agent", "list"); !strings.Contains(out, tt.email) {
					t.Errorf("agent list does not show %s:\n%s", tt.email, out)
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), "the two passwords typed differ") {
				t.Fatalf("agent add with two passwords that differ: %v, stderr %q", err, stderr.String())
			}
			if out := apptest.Run(t, bin, env, "", "agent", "list"); strings.Contains(out, tt.email) {
				t.Errorf("an agent was created anyway:\n%s", out)
			}
		})
	}
}
