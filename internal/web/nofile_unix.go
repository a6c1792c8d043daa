//go:build unix

package web

import (
	"os"
	"syscall"
)

// descriptorLimit is the process's soft RLIMIT_NOFILE (Go raises it to the
// hard limit at start).
func descriptorLimit() int64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 16
	}
	return int64(rl.Cur)
}

// openDescriptors counts the process's open descriptors (-1 where /proc is
// not there).
func openDescriptors() int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names) - 1 // less the directory itself
}
