package app

import (
	"net/http"
	"net/http/pprof"
)

// debugHandler serves Go's runtime profiles (CPU, heap, goroutines) for
// PARLEY_DEBUG_ADDR. It is a separate listener, off by default, so that
// profiles are never reachable through the public address.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
