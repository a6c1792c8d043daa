package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsWriteOnlyTheirAnswer: a one-off command prints its answer
// and nothing on stderr: what the server logs when it starts (the
// descriptor limit) is not a command's business.
func TestCommandsWriteOnlyTheirAnswer(t *testing.T) {
	t.Setenv("PARLEY_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "parley.db"))
	t.Setenv("PARLEY_SECRET", "quiet-test-secret-0123456789abcdef")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"workspace", "list"}, "Default"},
		{[]string{"agent", "list"}, ""},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), tc.args, nil, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%v: stdout %q, want it to hold %q", tc.args, stdout.String(), tc.want)
		}
		if stderr.Len() != 0 {
			t.Errorf("%v: stderr %q, want nothing", tc.args, stderr.String())
		}
	}
}
