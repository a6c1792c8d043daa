package web

import (
	"context"
	"net/http"
	"time"
)

// ReadyCheck is one condition of GET /readyz: Check returns nil when it
// holds.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// readyzBody is the answer of GET /readyz: "ok", or "unavailable" with the
// names of the checks that failed. Reasons go to the log only: they may
// name hosts and users, and the endpoint is public.
type readyzBody struct {
	Status string            `json:"status"`
	Failed []string          `json:"failed,omitempty"`
	Checks map[string]string `json:"checks"`
}

// readyz answers 200 when this node can serve (every check holds), else
// 503, so that a load balancer sends it no traffic. Unlike /healthz it
// also fails while the schema is behind or the event bus is down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := readyzBody{Status: "ok", Checks: map[string]string{}}
	for _, c := range s.opts.ReadyChecks {
		if err := c.Check(ctx); err != nil {
			body.Status = "unavailable"
			body.Failed = append(body.Failed, c.Name)
			body.Checks[c.Name] = "failed"
			s.log.Warn("not ready", "check", c.Name, "err", err)
			continue
		}
		body.Checks[c.Name] = "ok"
	}
	status := http.StatusOK
	if body.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}
