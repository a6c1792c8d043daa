package app

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMemoryLimit is the soft memory limit when neither
// PARLEY_MEMORY_LIMIT, GOMEMLIMIT nor a container limit gives one.
const defaultMemoryLimit = 1 << 30

// setMemoryLimit sets the Go runtime's soft memory limit, so that memory
// pressure makes the garbage collector work harder (Parley slows down)
// before the kernel kills the process. configured is PARLEY_MEMORY_LIMIT
// in bytes: -1 is off, 0 derives the limit: GOMEMLIMIT when set (the
// runtime already applies it), else 90% of the container's memory limit
// (cgroup v2 memory.max), else 1 GiB. It returns the limit in force.
func setMemoryLimit(configured int64, log *slog.Logger) int64 {
	switch {
	case configured < 0:
		log.Info("memory limit off (PARLEY_MEMORY_LIMIT=off)")
		return debug.SetMemoryLimit(-1)
	case configured > 0:
		debug.SetMemoryLimit(configured)
		log.Info("memory limit set", "bytes", configured, "from", "PARLEY_MEMORY_LIMIT")
		return configured
	case strings.TrimSpace(os.Getenv("GOMEMLIMIT")) != "":
		limit := debug.SetMemoryLimit(-1)
		log.Info("memory limit set", "bytes", limit, "from", "GOMEMLIMIT")
		return limit
	}
	limit, from := int64(defaultMemoryLimit), "default"
	if c := cgroupMemoryMax(); c > 0 {
		limit, from = c/10*9, "container memory limit"
	}
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit, "from", from)
	return limit
}

// gcPercent is the garbage collector's target when GOGC is not set: a
// collection once the heap grew by 1.25 times what the last one left live
// (with the goroutine stacks), instead of Go's once. A cycle's cost is
// mostly marking what is live (with thousands of widgets connected, their
// connections and stacks), whatever was allocated since: fewer cycles are
// fewer of the collector's slow moments in the replies' tail, for more
// memory between them (see docs/benchmarks.md, "Compared with Centrifugo": 150
// and 200 took more memory than a connection should). The soft memory
// limit bounds that memory: near it the collector runs as often as it must.
const gcPercent = 125

// setGCPercent sets the garbage collector's target to gcPercent unless
// GOGC is set (the runtime applies it then). It returns the target in force.
func setGCPercent(log *slog.Logger) int {
	if strings.TrimSpace(os.Getenv("GOGC")) != "" {
		percent := debug.SetGCPercent(100)
		debug.SetGCPercent(percent)
		log.Info("garbage collector target", "percent", percent, "from", "GOGC")
		return percent
	}
	debug.SetGCPercent(gcPercent)
	log.Info("garbage collector target", "percent", gcPercent, "from", "default")
	return gcPercent
}

// cgroupMemoryMax returns the memory limit of the process's cgroup (v2),
// or 0 when there is none or it cannot be read.
func cgroupMemoryMax() int64 {
	raw, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || n <= 0 {
		return 0 // "max": no limit
	}
	return n
}
