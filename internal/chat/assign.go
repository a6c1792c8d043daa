package chat

import (
	"context"
	"errors"
	"strings"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// CodeInvalidAgent refuses an agent id that is not of the workspace (or
// of an agent who was removed, or whose invitation is pending).
const CodeInvalidAgent = "invalid_agent"

// Assign gives a conversation to an agent of the workspace, or to nobody
// when agentID is nil, and tells every open dashboard. A change leaves a
// line in the conversation, for agents only, saying who gave it to whom.
// The assignee it replaces is read, changed and named in the line in one
// transaction that holds the conversation: two agents taking it at once
// leave "took the conversation." and "took the conversation from …", in
// the order they took it.
func (s *Service) Assign(ctx context.Context, a model.Agent, conversationID string, agentID *string) (model.Conversation, error) {
	c, _, err := s.assign(ctx, a, conversationID, agentID)
	return c, err
}

// assign is Assign, telling whether the conversation changed (it may have
// had that assignee already).
func (s *Service) assign(ctx context.Context, a model.Agent, conversationID string, agentID *string) (model.Conversation, bool, error) {
	var (
		c    model.Conversation
		line *model.Message
		// freed: the conversation left an agent, who has more room.
		freed bool
	)
	hooks := s.hooks()
	err := s.db.InTxThen(ctx, func(tx *store.Store) error {
		line, freed = nil, false
		var to model.Agent
		if agentID != nil {
			var err error
			if to, err = assignableAgent(ctx, tx, a.WorkspaceID, *agentID); err != nil {
				return err
			}
		}
		if err := tx.LockConversation(ctx, a.WorkspaceID, conversationID); err != nil {
			return notFound(err, "conversation")
		}
		before, err := tx.Conversation(ctx, a.WorkspaceID, conversationID)
		if err != nil {
			return notFound(err, "conversation")
		}
		if err := tx.SetAssignee(ctx, a.WorkspaceID, conversationID, agentID); err != nil {
			return notFound(err, "conversation")
		}
		if c, err = tx.Conversation(ctx, a.WorkspaceID, conversationID); err != nil {
			return err
		}
		text := assignmentText(a, before.Assignee, to, agentID != nil)
		if text == "" { // nothing changed
			return nil
		}
		freed = before.Assignee != nil
		if freed && agentID == nil {
			// Not handed out again until its visitor writes: its agent
			// chose to let it go.
			if err := tx.LetGo(ctx, a.WorkspaceID, conversationID); err != nil {
				return err
			}
		}
		l := s.historyLine(c, text)
		line = &l
		if err := saveLine(ctx, tx, line); err != nil {
			return err
		}
		return hooks.emitNotes(ctx, tx, line)
	}, func() {
		if line == nil {
			s.toAgents(a.WorkspaceID, realtime.ConversationUpdated, c)
			return
		}
		s.assignedBy(a.WorkspaceID, c, a.ID)
		s.lineToAgents(a.WorkspaceID, line)
	})
	if err != nil {
		return model.Conversation{}, false, err
	}
	hooks.done()
	if freed {
		s.requestHandOut(ctx, a.WorkspaceID) // its agent has room for another
	}
	return c, line != nil, nil
}

// autoAssign gives conversation c, in which a visitor just wrote, to the
// online agent with the fewest open conversations, when workspace w asks
// for it and nobody has c. It returns the line of history saying so (nil
// when c was not given), and c with its assignee (the one change the
// assignment makes to the row: it is not read again).
func (s *Service) autoAssign(ctx context.Context, tx *store.Store, w model.Workspace, c model.Conversation) (*model.Message, model.Conversation, error) {
	if !w.Settings.AutoAssign || c.Assignee != nil || c.Status != "open" {
		return nil, c, nil
	}
	to, err := tx.AssignLeastBusy(ctx, w.ID, c.ID, w.Settings.AutoAssignLimit, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, c, nil // nobody online with room: it waits in Unassigned
	}
	if err != nil {
		return nil, c, err
	}
	c.Assignee = &model.Assignee{ID: to.ID, Name: to.Name}
	l := s.historyLine(c, "Assigned automatically to "+to.Name+", the online agent with the fewest open conversations.")
	return &l, c, saveLine(ctx, tx, &l)
}

// autoAssignReading is autoAssign for a message whose transaction has not
// read its workspace: it reads it only when c is open and nobody has it.
func (s *Service) autoAssignReading(ctx context.Context, tx *store.Store, c model.Conversation) (*model.Message, model.Conversation, error) {
	if c.Assignee != nil || c.Status != "open" {
		return nil, c, nil
	}
	w, err := tx.Workspace(ctx, c.WorkspaceID)
	if err != nil {
		return nil, c, err
	}
	return s.autoAssign(ctx, tx, w, c)
}

// historyLine is a line of conversation c's history for agents only (who
// assigned, closed or reopened it), said by Parley.
func (s *Service) historyLine(c model.Conversation, text string) model.Message {
	return model.Message{ID: model.NewID(), WorkspaceID: c.WorkspaceID, ConversationID: c.ID,
		Author: model.Author{Kind: model.AuthorSystem}, Kind: model.KindEvent, Channel: model.MsgChannelDashboard, Body: text, CreatedAt: s.now()}
}

// reopenedLine is the line of history a visitor's message leaves in the
// conversation it reopened (before and after it): who wrote, and how
// (wrote is "wrote again" or "answered by email"); nil when the message
// did not reopen it.
func (s *Service) reopenedLine(before, after model.Conversation, wrote string) *model.Message {
	if !reopened(before, after) {
		return nil
	}
	who := "The visitor"
	if n := after.Visitor.Name; n != nil && strings.TrimSpace(*n) != "" {
		who = strings.TrimSpace(*n)
	}
	l := s.historyLine(after, who+" "+wrote+": the conversation is open again.")
	return &l
}

// reopened reports whether a message took a conversation from before,
// closed, to after, open again.
func reopened(before, after model.Conversation) bool {
	return before.Status == "closed" && after.Status != "closed"
}

// saveLine stores the history line l (nil: none) in the transaction.
func saveLine(ctx context.Context, tx *store.Store, l *model.Message) error {
	if l == nil {
		return nil
	}
	return tx.CreateHistoryLine(ctx, *l)
}

// lineToAgents tells the agents of the history line l (nil: none), once
// its transaction committed.
func (s *Service) lineToAgents(workspaceID string, l *model.Message) {
	if l != nil {
		s.toAgents(workspaceID, realtime.MessageCreated, *l)
	}
}

// assignmentText is the conversation's line for actor giving it to to
// (or to nobody when assigned is false) while it was before's; "" when
// nothing changed.
func assignmentText(actor model.Agent, before *model.Assignee, to model.Agent, assigned bool) string {
	from := ""
	if before != nil {
		if assigned && before.ID == to.ID {
			return ""
		}
		from = before.Name
	}
	switch {
	case !assigned && before == nil:
		return ""
	case !assigned && before.ID == actor.ID:
		return actor.Name + " gave up the conversation."
	case !assigned:
		return actor.Name + " unassigned the conversation from " + from + "."
	case to.ID == actor.ID && from != "":
		return actor.Name + " took the conversation from " + from + "."
	case to.ID == actor.ID:
		return actor.Name + " took the conversation."
	case from != "" && before.ID != actor.ID:
		return actor.Name + " assigned the conversation to " + to.Name + " (it was " + from + "'s)."
	default:
		return actor.Name + " assigned the conversation to " + to.Name + "."
	}
}

// assignableAgent returns an agent of the workspace who may be given
// conversations: not one whose invitation is pending, who cannot log in
// to see them.
func assignableAgent(ctx context.Context, st *store.Store, workspaceID, id string) (model.Agent, error) {
	ag, err := workspaceAgent(ctx, st, workspaceID, id)
	if err == nil && ag.Invited() {
		return ag, newError(CodeInvalidAgent, "this person has not accepted their invitation yet")
	}
	return ag, err
}

// workspaceAgent returns an agent of the workspace, invited or not.
func workspaceAgent(ctx context.Context, st *store.Store, workspaceID, id string) (model.Agent, error) {
	ag, err := st.Agent(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ag, newError(CodeInvalidAgent, "no agent of this workspace has this id")
	case err != nil:
		return ag, err
	case ag.WorkspaceID != workspaceID:
		return ag, newError(CodeInvalidAgent, "no agent of this workspace has this id")
	}
	return ag, nil
}

// Assignees lists the agents of the workspace a conversation can be given to.
func (s *Service) Assignees(ctx context.Context, a model.Agent) ([]model.AssignableAgent, error) {
	return s.db.AssignableAgents(ctx, a.WorkspaceID)
}
