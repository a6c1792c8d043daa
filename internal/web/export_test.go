package web

// WithoutWidgetLoop makes s serve widgets' sockets one goroutine each, as
// it does where the event loop cannot start. It must be called before the
// first widget connects.
func WithoutWidgetLoop(s *Server) { s.loopOnce.Do(func() {}) }
