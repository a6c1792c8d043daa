package chat

import (
	"context"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// VisitorConnected records that a widget connection opened; count is the
// visitor's number of open connections including this one.
func (s *Service) VisitorConnected(ctx context.Context, visitorID string, count int) {
	s.mu.Lock()
	if t, ok := s.leaveTimers[visitorID]; ok {
		// A page change: the previous page closed and this one reconnected
		// within the grace period. No leave.
		t.Stop()
		delete(s.leaveTimers, visitorID)
	}
	s.mu.Unlock()
	now := s.now()
	if err := s.db.SetVisitorOnline(ctx, visitorID, now); err != nil {
		s.log.Error("mark visitor online", "visitor", visitorID, "err", err)
		return
	}
	s.visitorUpdated(ctx, visitorID)
}

// VisitorDisconnected records that a widget connection closed; remaining is
// how many the visitor still has open. The visitor leaves (left_at = now)
// unless a connection opens again within the grace period.
func (s *Service) VisitorDisconnected(ctx context.Context, visitorID string, remaining int) {
	if remaining > 0 {
		return
	}
	leftAt := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.leaveTimers[visitorID]; ok {
		old.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(s.opts.VisitorGrace, func() {
		s.mu.Lock()
		if s.leaveTimers[visitorID] != t {
			s.mu.Unlock()
			return
		}
		delete(s.leaveTimers, visitorID)
		s.mu.Unlock()
		// Detached from the request: the connection that closed is gone.
		ctx := context.WithoutCancel(ctx)
		if err := s.db.SetVisitorLeft(ctx, visitorID, leftAt); err != nil {
			s.log.Error("mark visitor left", "visitor", visitorID, "err", err)
			return
		}
		s.visitorUpdated(ctx, visitorID)
	})
	s.leaveTimers[visitorID] = t
}

// FlushLeaves records every pending leave at once (shutdown), so that no
// visitor stays online in the database after the process stopped.
func (s *Service) FlushLeaves(ctx context.Context) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.leaveTimers))
	for id, t := range s.leaveTimers {
		t.Stop()
		ids = append(ids, id)
	}
	s.leaveTimers = map[string]*time.Timer{}
	s.mu.Unlock()
	now := s.now()
	for _, id := range ids {
		if err := s.db.SetVisitorLeft(ctx, id, now); err != nil {
			s.log.Error("mark visitor left", "visitor", id, "err", err)
		}
	}
}

func (s *Service) visitorUpdated(ctx context.Context, visitorID string) {
	v, err := s.db.VisitorByID(ctx, visitorID)
	if err != nil {
		s.log.Error("read visitor", "visitor", visitorID, "err", err)
		return
	}
	s.toAgents(v.WorkspaceID, "visitor.updated", v)
	s.eval.VisitorChanged(ctx, visitorID)
}

// RecoverPresence fixes presence after a start: no connection survived, so
// visitors marked online have left, and available agents count as
// disconnected from now (they go offline after AgentAwayAfter unless they
// reconnect).
func (s *Service) RecoverPresence(ctx context.Context) error {
	now := s.now()
	ids, err := s.db.OnlineVisitorIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.db.SetVisitorLeft(ctx, id, now); err != nil {
			return err
		}
		s.eval.VisitorChanged(ctx, id)
	}
	return s.db.MarkAgentsDisconnected(ctx, now)
}

// AgentConnected records that a dashboard connection opened.
func (s *Service) AgentConnected(ctx context.Context, agentID string) {
	s.mu.Lock()
	s.agentConns[agentID]++
	first := s.agentConns[agentID] == 1
	s.mu.Unlock()
	if first {
		if err := s.db.SetAgentDisconnectedAt(ctx, agentID, nil); err != nil {
			s.log.Error("mark agent connected", "agent", agentID, "err", err)
		}
	}
}

// AgentDisconnected records that a dashboard connection closed.
func (s *Service) AgentDisconnected(ctx context.Context, agentID string) {
	s.mu.Lock()
	s.agentConns[agentID]--
	last := s.agentConns[agentID] <= 0
	if last {
		delete(s.agentConns, agentID)
	}
	s.mu.Unlock()
	if last {
		now := s.now()
		if err := s.db.SetAgentDisconnectedAt(context.WithoutCancel(ctx), agentID, &now); err != nil {
			s.log.Error("mark agent disconnected", "agent", agentID, "err", err)
		}
	}
}

func (s *Service) agentConnected(agentID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agentConns[agentID] > 0
}

// SetAgentStatus changes an agent's status (online, invisible, offline).
func (s *Service) SetAgentStatus(ctx context.Context, a model.Agent, status string) (model.Agent, error) {
	switch status {
	case model.StatusOnline, model.StatusInvisible, model.StatusOffline:
	default:
		return a, newError(CodeBadRequest, `status is one of "online", "invisible", "offline"`)
	}
	if err := s.db.SetAgentStatus(ctx, a.ID, status); err != nil {
		return a, err
	}
	if status != model.StatusOffline && !s.agentConnected(a.ID) {
		// Not connected through a dashboard: the away clock starts now.
		now := s.now()
		if err := s.db.SetAgentDisconnectedAt(ctx, a.ID, &now); err != nil {
			return a, err
		}
	}
	a.Status = status
	s.refreshAvailability(ctx, a.WorkspaceID)
	return a, nil
}

// refreshAvailability recomputes whether the workspace has an available
// agent and, when that changed, records it and tells open widgets.
func (s *Service) refreshAvailability(ctx context.Context, workspaceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.db.Workspace(ctx, workspaceID)
	if err != nil {
		s.log.Error("read workspace", "workspace", workspaceID, "err", err)
		return
	}
	avail, err := s.db.AgentsAvailable(ctx, workspaceID)
	if err != nil {
		s.log.Error("read availability", "workspace", workspaceID, "err", err)
		return
	}
	was := w.AgentsUnavailableSince == nil
	if avail == was {
		return
	}
	var since *time.Time
	if !avail {
		now := s.now()
		since = &now
	}
	if err := s.db.SetAgentsUnavailableSince(ctx, workspaceID, since); err != nil {
		s.log.Error("record availability", "workspace", workspaceID, "err", err)
		return
	}
	s.pub.ToWidgets(workspaceID, encode(struct {
		Type      string `json:"type"`
		Available bool   `json:"available"`
	}{"agents", avail}))
	s.eval.WorkspaceChanged(ctx, workspaceID)
}

// Run sets agents offline once their last dashboard has been closed for
// AgentAwayAfter, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := s.opts.AgentAwayAfter / 4
	if tick > time.Second {
		tick = time.Second
	}
	if tick < 50*time.Millisecond {
		tick = 50 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweepAway(ctx)
		}
	}
}

func (s *Service) sweepAway(ctx context.Context) {
	away, err := s.db.AgentsAwaySince(ctx, s.now().Add(-s.opts.AgentAwayAfter))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("list away agents", "err", err)
		}
		return
	}
	for _, a := range away {
		if s.agentConnected(a.ID) {
			continue
		}
		s.log.Info("agent away: set offline", "agent", a.ID)
		if _, err := s.SetAgentStatus(ctx, a, model.StatusOffline); err != nil {
			s.log.Error("set agent offline", "agent", a.ID, "err", err)
		}
	}
}
