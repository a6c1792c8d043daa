package chat

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Handing out: with automatic assignment on and a limit of open
// conversations per agent, the conversations that waited while nobody
// online had room are given as soon as somebody has: an agent comes
// online, closes one, is given fewer, a limit is raised. Without a limit
// nobody runs out of room, and a conversation left waiting (nobody was
// online) is given when its visitor writes again, as before a limit
// existed: the first agent online in the morning does not get the whole
// night's queue.
//
// The requests are served on the one worker type (ServeHandOuts is its
// Work, wired and started by the app's Serve, which passes its Kick to
// HandOutsServedBy), off the request that made them: an agent's status
// change answers at once, whatever the queue, and a request that comes
// while its workspace waits for the worker, or is being served, is one
// with it. Without a worker running (a command of the command line), a
// request is served in the call.

// handOutQueue is the workspaces whose waiting conversations are to be
// handed out.
type handOutQueue struct {
	mu      sync.Mutex
	pending map[string]bool
	// held: workspace → bulk changes under way (HoldHandOuts).
	held map[string]int
	busy bool
	// kick wakes the worker that serves the queue; nil while none runs.
	kick atomic.Pointer[func()]
}

func newHandOutQueue() *handOutQueue {
	return &handOutQueue{pending: map[string]bool{}, held: map[string]int{}}
}

// HandOutsServedBy says that a worker serves the hand-outs from now on
// (ServeHandOuts as its Work), woken by kick; nil: none does any more.
func (s *Service) HandOutsServedBy(kick func()) {
	if kick == nil {
		s.handOuts.kick.Store(nil)
		return
	}
	s.handOuts.kick.Store(&kick)
}

// serveSoon has what is pending served: the worker is woken when one
// runs, else it is served now, with ctx.
func (s *Service) serveSoon(ctx context.Context) {
	if k := s.handOuts.kick.Load(); k != nil {
		(*k)()
		return
	}
	s.serveHandOuts(ctx)
}

// requestHandOut asks for workspaceID's waiting conversations to be
// handed out (serveSoon).
func (s *Service) requestHandOut(ctx context.Context, workspaceID string) {
	q := s.handOuts
	q.mu.Lock()
	q.pending[workspaceID] = true
	q.mu.Unlock()
	s.serveSoon(ctx)
}

// heldBack tells whether a bulk change holds workspaceID's hand-outs; if
// so, the workspace is pending again, for when the change is done.
func (q *handOutQueue) heldBack(workspaceID string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.held[workspaceID] == 0 {
		return false
	}
	q.pending[workspaceID] = true
	return true
}

// HoldHandOuts keeps workspaceID's hand-outs on this node waiting until
// the function it returns is called: a bulk change calls it first, so
// that what it closes or assigns one by one is not handed out between two
// of its steps (a hand-out under way stops before its next conversation,
// and goes on after the release).
func (s *Service) HoldHandOuts(ctx context.Context, workspaceID string) (release func()) {
	q := s.handOuts
	q.mu.Lock()
	q.held[workspaceID]++
	q.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			if q.held[workspaceID]--; q.held[workspaceID] <= 0 {
				delete(q.held, workspaceID)
			}
			q.mu.Unlock()
			s.serveSoon(ctx)
		})
	}
}

// HandOutsIdle reports whether no hand-out is asked for or under way on
// this node (held ones aside).
func (s *Service) HandOutsIdle() bool {
	q := s.handOuts
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.busy {
		return false
	}
	for ws := range q.pending {
		if q.held[ws] == 0 {
			return false
		}
	}
	return true
}

// ServeHandOuts hands out the waiting conversations of the workspaces
// asked for: the Work of the worker that serves them (HandOutsServedBy).
func (s *Service) ServeHandOuts(ctx context.Context) error {
	s.serveHandOuts(ctx)
	return nil
}

// serveHandOuts hands out the conversations of every workspace asked for
// and not held, until none is left. A panic in a hand-out is logged, and
// costs that workspace this hand-out only.
func (s *Service) serveHandOuts(ctx context.Context) {
	q := s.handOuts
	for ctx.Err() == nil {
		q.mu.Lock()
		ws := ""
		for w := range q.pending {
			if q.held[w] == 0 {
				ws = w
				break
			}
		}
		if ws == "" || q.busy {
			q.mu.Unlock()
			return
		}
		delete(q.pending, ws)
		q.busy = true
		q.mu.Unlock()
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.log.Error("hand out waiting conversations: panic", "workspace", ws, "panic", p, "stack", string(debug.Stack()))
				}
				q.mu.Lock()
				q.busy = false
				q.mu.Unlock()
			}()
			s.handOut(ctx, ws)
		}()
	}
}

// handsOut tells whether workspace w hands out waiting conversations:
// automatic assignment on, with a limit.
func handsOut(w model.Workspace) bool {
	return w.Settings.AutoAssign && w.Settings.AutoAssignLimit > 0
}

// handOut gives workspaceID's waiting conversations (open, nobody has
// them, their visitor's newest message unanswered, not let go by an agent
// since), the longest waiting first, as a visitor's message would, until
// none waits or no online agent has room. Each is given in a transaction of its own that
// holds it, reads the settings and looks again that it waits; a failure
// is logged (the conversation waits for the next hand-out, or for its
// visitor's next message).
func (s *Service) handOut(ctx context.Context, workspaceID string) {
	w, err := s.db.Workspace(ctx, workspaceID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("hand out waiting conversations: read workspace", "workspace", workspaceID, "err", err)
		}
		return
	}
	if !handsOut(w) {
		return
	}
	skipped := map[string]bool{}
	for {
		// Read outside the writer: usually nothing waits.
		ids, err := s.db.WaitingUnassigned(ctx, workspaceID, len(skipped)+handOutBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("hand out waiting conversations", "workspace", workspaceID, "err", err)
			}
			return
		}
		tried := 0
		for _, id := range ids {
			if skipped[id] {
				continue
			}
			tried++
			if s.handOuts.heldBack(workspaceID) {
				return // a bulk change began: the rest once it is done
			}
			given, stop, err := s.handOutOne(ctx, workspaceID, id)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.log.Error("hand out a waiting conversation", "conversation", id, "err", err)
				skipped[id] = true
				continue
			}
			if stop {
				return // nobody online has room, or the settings changed
			}
			if !given {
				skipped[id] = true // taken, answered or closed meanwhile
			}
		}
		if tried == 0 {
			return
		}
	}
}

// handOutBatch is how many waiting conversations handOut reads at a time.
const handOutBatch = 50

// handOutOne gives conversation id of workspaceID, if it still waits, to
// the least busy online agent with room; stop tells that nobody has room
// or that the workspace no longer hands out.
func (s *Service) handOutOne(ctx context.Context, workspaceID, id string) (given, stop bool, err error) {
	var (
		c    model.Conversation
		line *model.Message
	)
	hooks := s.hooks()
	err = s.db.InTxThen(ctx, func(tx *store.Store) error {
		line, stop = nil, false
		if err := tx.LockConversation(ctx, workspaceID, id); err != nil {
			return err
		}
		waiting, err := tx.IsWaitingUnassigned(ctx, workspaceID, id)
		if err != nil || !waiting {
			return err
		}
		w, err := tx.Workspace(ctx, workspaceID)
		if err != nil {
			return err
		}
		if !handsOut(w) {
			stop = true
			return nil
		}
		if c, err = tx.Conversation(ctx, workspaceID, id); err != nil {
			return err
		}
		if line, c, err = s.autoAssign(ctx, tx, w, c); err != nil {
			return err
		}
		if line == nil {
			stop = true
			return nil
		}
		if err := hooks.emitNotes(ctx, tx, line); err != nil {
			return err
		}
		return hooks.emit(ctx, tx, workspaceID, id, realtime.ConversationUpdated, c)
	}, func() {
		if line != nil {
			s.lineToAgents(workspaceID, line)
			s.pub.ToAgents(workspaceID, encode(Event{Type: realtime.ConversationUpdated, Data: c, Auto: true}))
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, false, nil // deleted meanwhile
	}
	if err != nil {
		return false, false, err
	}
	hooks.done()
	return line != nil, stop, nil
}
