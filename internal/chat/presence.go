package chat

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Presence spans nodes: each node records in the database which visitors
// and agents it holds connections for, with a heartbeat. A visitor is
// online while any node holds a widget connection; when a node dies, its
// visitors leave at its last heartbeat.

// activityEvery is how often a visitor's activity is recorded at most: the
// widget reports it once a minute while the visitor does something, and a
// page change within a minute of the activity recorded last records
// nothing (a visitor going from page to page writes once a minute, not on
// every page).
const activityEvery = time.Minute

// VisitorConnected records that a widget connection of visitor v opened;
// count is the visitor's number of open connections on this node, this
// one included.
func (s *Service) VisitorConnected(ctx context.Context, v model.VisitorKey, count int) {
	visitorID := v.ID
	l := s.presenceLock(visitorID)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	t, pageChange := s.leaveTimers[visitorID]
	if pageChange {
		t.Stop()
		delete(s.leaveTimers, visitorID)
	}
	s.mu.Unlock()
	now := s.now()
	if pageChange {
		// A page change: the previous page closed and this one reconnected
		// within the grace period. The visitor never left: this node's
		// presence row was kept and they are still online, so there is
		// nothing to tell the dashboards. Only the activity is recorded
		// (the widget counts on a connection opening being one), unless
		// it was less than activityEvery ago.
		if v.LastActiveAt != nil && now.Sub(*v.LastActiveAt) < activityEvery {
			return
		}
		if err := s.db.TouchVisitor(ctx, visitorID, now); err != nil {
			s.log.Error("record visitor activity", "visitor", visitorID, "err", err)
			return
		}
		s.eval.VisitorChanged(ctx, visitorID)
		return
	}
	// One transaction: a page of widgets opening at once is then one
	// commit, and the visitor the dashboards are sent is the one written.
	var online model.Visitor
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		if count == 1 {
			if err := tx.AddPresence(ctx, s.opts.NodeID, store.PresenceVisitor, visitorID, now); err != nil {
				return err
			}
		}
		var returning bool
		var err error
		if online, returning, err = tx.SetVisitorOnline(ctx, visitorID, now); err != nil {
			return err
		}
		if count == 1 && returning {
			// A visitor opening the widget again after an email came back.
			return tx.MarkReturned(ctx, visitorID, now)
		}
		return nil
	})
	if err != nil {
		s.log.Error("mark visitor online", "visitor", visitorID, "err", err)
		return
	}
	s.toAgents(online.WorkspaceID, realtime.VisitorUpdated, online)
	s.eval.VisitorChanged(ctx, visitorID)
}

// presenceLock returns the lock of a visitor's presence changes.
func (s *Service) presenceLock(visitorID string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(visitorID))
	return &s.presenceLocks[h.Sum32()%uint32(len(s.presenceLocks))]
}

// VisitorDisconnected records that a widget connection closed; remaining is
// how many the visitor still has open on this node. The visitor leaves
// (left_at = now) unless a connection opens again, on any node, within the
// grace period; until then this node's presence row stays, so that coming
// back (a page change) writes nothing.
func (s *Service) VisitorDisconnected(ctx context.Context, visitorID string, remaining int) {
	if remaining > 0 {
		return
	}
	ctx = context.WithoutCancel(ctx) // the connection that closed is gone
	s.scheduleLeave(ctx, visitorID, s.now(), s.opts.VisitorGrace)
}

// scheduleLeave records the leave after delay unless the visitor comes
// back first; when the database cannot be reached, it tries again.
func (s *Service) scheduleLeave(ctx context.Context, visitorID string, leftAt time.Time, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.leaveTimers[visitorID]; ok {
		old.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		l := s.presenceLock(visitorID)
		l.Lock()
		defer l.Unlock()
		s.mu.Lock()
		if s.leaveTimers[visitorID] != t {
			s.mu.Unlock()
			return // came back meanwhile
		}
		delete(s.leaveTimers, visitorID)
		s.mu.Unlock()
		if err := s.recordLeave(ctx, visitorID, leftAt); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return // erased meanwhile: no one left
			}
			s.log.Error("record visitor leave; will retry", "visitor", visitorID, "err", err)
			s.scheduleLeave(ctx, visitorID, leftAt, time.Second)
		}
	})
	s.leaveTimers[visitorID] = t
}

// recordLeave removes this node's presence row of the visitor and marks
// them gone since leftAt unless another node holds a connection: one
// transaction, so that a thousand widgets closing at once are a few
// commits, not thousands.
func (s *Service) recordLeave(ctx context.Context, visitorID string, leftAt time.Time) error {
	return s.leave(ctx, visitorID, leftAt, true)
}

// leaveIfAbsent marks the visitor gone since leftAt unless some node holds
// a connection for them.
func (s *Service) leaveIfAbsent(ctx context.Context, visitorID string, leftAt time.Time) error {
	return s.leave(ctx, visitorID, leftAt, false)
}

func (s *Service) leave(ctx context.Context, visitorID string, leftAt time.Time, ownRow bool) error {
	var (
		v    model.Visitor
		left bool
	)
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		if ownRow {
			if err := tx.RemovePresence(ctx, s.opts.NodeID, store.PresenceVisitor, visitorID); err != nil {
				return err
			}
		}
		present, err := tx.Present(ctx, store.PresenceVisitor, visitorID)
		if err != nil || present {
			return err // or reconnected on another node
		}
		if err := setLeft(ctx, tx, visitorID, leftAt); err != nil {
			return err
		}
		left = true
		v, err = tx.VisitorByID(ctx, visitorID)
		return err
	})
	if err != nil || !left {
		return err
	}
	s.toAgents(v.WorkspaceID, realtime.VisitorUpdated, v)
	s.eval.VisitorChanged(ctx, visitorID)
	return nil
}

// setLeft marks a visitor gone since leftAt, and has the decisions on
// their conversations' emails made again by then. The leave is an input
// of those decisions (an unread reply goes LEFT_AFTER after it rather
// than after IDLE_AFTER of inactivity), and the engine is told of it in
// memory only: written with the leave, the earlier due time outlives an
// engine that stops before it decided (FlushLeaves at shutdown), and
// reaches the other nodes' engines. The conversations are written before
// the visitor, as a visitor's message writes them.
func setLeft(ctx context.Context, tx *store.Store, visitorID string, leftAt time.Time) error {
	if err := tx.ForwardVisitorDueBy(ctx, visitorID, leftAt); err != nil {
		return err
	}
	return tx.SetVisitorLeft(ctx, visitorID, leftAt)
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
		if err := s.recordLeave(ctx, id, now); err != nil {
			s.log.Error("record visitor leave", "visitor", id, "err", err)
		}
	}
	if _, _, err := s.db.RemoveNode(ctx, s.opts.NodeID); err != nil {
		s.log.Error("remove node", "node", s.opts.NodeID, "err", err)
	}
}

func (s *Service) visitorUpdated(ctx context.Context, visitorID string) {
	v, err := s.db.VisitorByID(ctx, visitorID)
	if err != nil {
		s.log.Error("read visitor", "visitor", visitorID, "err", err)
		return
	}
	s.toAgents(v.WorkspaceID, realtime.VisitorUpdated, v)
	s.eval.VisitorChanged(ctx, visitorID)
}

// RecoverPresence fixes presence when this node starts: connections of dead
// nodes are gone (on SQLite, which one node uses at a time, every other
// node is dead), so visitors they held have left and agents they held count
// as disconnected.
func (s *Service) RecoverPresence(ctx context.Context) error {
	now := s.now()
	if err := s.db.Heartbeat(ctx, s.opts.NodeID, now); err != nil {
		return err
	}
	cutoff := now.Add(-s.opts.NodeTimeout)
	if s.db.Dialect() == store.SQLite {
		cutoff = now
	}
	s.sweepNodes(ctx, cutoff)
	ids, err := s.db.AbsentOnlineVisitors(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.db.InTx(ctx, func(tx *store.Store) error { return setLeft(ctx, tx, id, now) }); err != nil {
			return err
		}
		s.eval.VisitorChanged(ctx, id)
	}
	return s.db.MarkAbsentAgentsDisconnected(ctx, now)
}

// sweepNodes forgets nodes whose heartbeat is older than cutoff: their
// visitors leave and their agents disconnect at the last heartbeat.
func (s *Service) sweepNodes(ctx context.Context, cutoff time.Time) {
	dead, err := s.db.StaleNodes(ctx, s.opts.NodeID, cutoff)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("list stale nodes", "err", err)
		}
		return
	}
	for _, n := range dead {
		removed, visitors, agents, err := s.db.RemoveDeadNode(ctx, n.ID, cutoff, s.now())
		if err != nil {
			s.log.Error("remove dead node", "node", n.ID, "err", err)
			continue
		}
		if !removed {
			continue // it heartbeated since it was listed
		}
		if s.nodeRemoved != nil {
			s.nodeRemoved()
		}
		s.log.Warn("node stopped heartbeating: its connections count as closed", "node", n.ID,
			"last_heartbeat", n.HeartbeatAt, "visitors", len(visitors), "agents", len(agents))
		for _, id := range visitors {
			if err := s.leaveIfAbsent(ctx, id, n.HeartbeatAt); err != nil {
				s.log.Error("record visitor leave; will retry", "visitor", id, "err", err)
				s.scheduleLeave(context.WithoutCancel(ctx), id, n.HeartbeatAt, time.Second)
			}
		}
		for _, id := range agents {
			if present, err := s.db.Present(ctx, store.PresenceAgent, id); err == nil && !present {
				at := n.HeartbeatAt
				if err := s.db.SetAgentDisconnectedAt(ctx, id, &at); err != nil {
					s.log.Error("mark agent disconnected", "agent", id, "err", err)
				}
			}
		}
	}
}

// AgentConnected records that a dashboard connection opened.
func (s *Service) AgentConnected(ctx context.Context, agentID string) {
	s.mu.Lock()
	s.agentConns[agentID]++
	first := s.agentConns[agentID] == 1
	s.mu.Unlock()
	if first {
		if err := s.db.AddPresence(ctx, s.opts.NodeID, store.PresenceAgent, agentID, s.now()); err != nil {
			s.log.Error("record agent presence", "agent", agentID, "err", err)
		}
		if err := s.db.SetAgentDisconnectedAt(ctx, agentID, nil); err != nil {
			s.log.Error("mark agent connected", "agent", agentID, "err", err)
		}
	}
	// The away timer set them offline while no dashboard was open: opening
	// one gives back the status they had chosen.
	restored, err := s.db.RestoreAgentStatus(ctx, agentID)
	if err != nil {
		s.log.Error("restore agent status", "agent", agentID, "err", err)
		return
	}
	if restored {
		s.agentUpdated(ctx, agentID)
		if a, err := s.db.Agent(ctx, agentID); err == nil {
			s.refreshAvailability(ctx, a.WorkspaceID)
			if a.Status == model.StatusOnline {
				s.requestHandOut(ctx, a.WorkspaceID)
			}
		}
	}
}

// agentUpdated tells the workspace's dashboards that an agent changed
// (status, name or role).
func (s *Service) agentUpdated(ctx context.Context, agentID string) {
	a, err := s.db.Agent(ctx, agentID)
	if err != nil {
		s.log.Error("read agent", "agent", agentID, "err", err)
		return
	}
	s.toAgents(a.WorkspaceID, realtime.AgentUpdated, a)
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
	if !last {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.db.RemovePresence(ctx, s.opts.NodeID, store.PresenceAgent, agentID); err != nil {
		s.log.Error("remove agent presence", "agent", agentID, "err", err)
	}
	if present, err := s.db.Present(ctx, store.PresenceAgent, agentID); err != nil || present {
		return // still connected on another node
	}
	now := s.now()
	if err := s.db.SetAgentDisconnectedAt(ctx, agentID, &now); err != nil {
		s.log.Error("mark agent disconnected", "agent", agentID, "err", err)
	}
	s.mu.Lock()
	at, out := s.loggedOut[agentID]
	delete(s.loggedOut, agentID)
	s.mu.Unlock()
	if out && now.Sub(at) < loggedOutFor {
		s.awayAfterLogout(ctx, agentID)
	}
}

func (s *Service) agentConnected(ctx context.Context, agentID string) bool {
	s.mu.Lock()
	local := s.agentConns[agentID] > 0
	s.mu.Unlock()
	if local {
		return true
	}
	present, err := s.db.Present(ctx, store.PresenceAgent, agentID)
	return err == nil && present
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
	if status != model.StatusOffline && !s.agentConnected(ctx, a.ID) {
		// Not connected through a dashboard: the away clock starts now.
		now := s.now()
		if err := s.db.SetAgentDisconnectedAt(ctx, a.ID, &now); err != nil {
			return a, err
		}
	}
	a.Status, a.ChosenStatus, a.StatusSource = status, status, model.StatusSourceAgent
	s.refreshAvailability(ctx, a.WorkspaceID)
	s.toAgents(a.WorkspaceID, realtime.AgentUpdated, a)
	if status == model.StatusOnline {
		s.requestHandOut(ctx, a.WorkspaceID)
	}
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
		Type      realtime.FrameType `json:"type"`
		Available bool               `json:"available"`
	}{realtime.FrameAgents, avail}))
	s.eval.WorkspaceChanged(ctx, workspaceID)
}

// Run keeps this node's heartbeat, closes the connections of dead nodes,
// and sets agents offline once their last dashboard has been closed for
// AgentAwayAfter, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := min(s.opts.AgentAwayAfter/4, s.opts.NodeTimeout/5, time.Second)
	tick = max(tick, 50*time.Millisecond)
	heartbeatEvery := max(s.opts.NodeTimeout/5, 100*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var lastBeat time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if now := s.now(); now.Sub(lastBeat) >= heartbeatEvery {
				if err := s.db.Heartbeat(ctx, s.opts.NodeID, now); err != nil {
					if ctx.Err() == nil {
						s.log.Error("heartbeat", "err", err)
					}
				} else {
					lastBeat = now
				}
				s.sweepNodes(ctx, now.Add(-s.opts.NodeTimeout))
			}
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
		if s.agentConnected(ctx, a.ID) {
			continue
		}
		s.setAway(ctx, a, "agent away: set offline")
	}
}

// setAway sets an agent offline as the away timer does (the status they
// chose comes back when a dashboard opens again), and tells the
// dashboards and the widgets.
func (s *Service) setAway(ctx context.Context, a model.Agent, why string) {
	if a.Status == model.StatusOffline {
		return
	}
	changed, err := s.db.SetAgentAway(ctx, a.ID, a.Status)
	if err != nil {
		s.log.Error("set agent offline", "agent", a.ID, "err", err)
		return
	}
	if changed {
		s.log.Info(why, "agent", a.ID)
		s.agentUpdated(ctx, a.ID)
		s.refreshAvailability(ctx, a.WorkspaceID)
	}
}

// loggedOutFor is how long after a logout the close of the agent's last
// dashboard connection is taken as the logout's: the connections it
// revoked close within it.
const loggedOutFor = 10 * time.Second

// awayAfterLogout sets an agent offline at once when they logged out and
// no dashboard of theirs is left open: the away timer's wait is for a
// dashboard closed by chance (a reload, a lost network), not for one
// closed on purpose.
func (s *Service) awayAfterLogout(ctx context.Context, agentID string) {
	if s.agentConnected(ctx, agentID) {
		return
	}
	s.mu.Lock()
	delete(s.loggedOut, agentID)
	s.mu.Unlock()
	a, err := s.db.Agent(ctx, agentID)
	if err != nil {
		s.log.Error("read agent", "agent", agentID, "err", err)
		return
	}
	s.setAway(ctx, a, "agent logged out: set offline")
}
