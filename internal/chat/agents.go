package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Agents and roles: an admin invites, changes and removes the agents of
// their workspace; every agent changes their own name and password. A
// token that stops being valid (logout, removal, password change) closes
// its dashboards' sockets on every node at once.

// InviteLifetime is how long an invitation link stays valid.
const InviteLifetime = 7 * 24 * time.Hour

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// Codes of the agent and workspace rules.
const (
	CodeForbidden       = "forbidden"
	CodeLastAdmin       = "last_admin"
	CodeWeakPassword    = "weak_password"
	CodeInvalidTimeZone = "invalid_time_zone"
	CodeInvalidInvite   = "invalid_invite"
)

// TokenHash is how a bearer token is stored and how the dashboards opened
// with it are known.
func TokenHash(tok string) string { return hashToken(tok) }

func (s *Service) revoke(r realtime.Revocation) {
	if n := s.pub.Revoke(r); n > 0 {
		s.log.Info("closed dashboards of a token no longer valid", "agent", r.AgentID, "connections", n)
	}
}

// RequireAdmin refuses an agent who is not an admin of their workspace.
func RequireAdmin(actor model.Agent) error {
	if !actor.IsAdmin() {
		return newError(CodeForbidden, "only an admin of the workspace may do this")
	}
	return nil
}

// CheckPassword says, in words for a person, why a new password would be
// refused: the command line asks again before it writes anything.
func (s *Service) CheckPassword(password string) error {
	var e *Error
	if err := checkPassword(password); errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return nil
}

func checkPassword(password string) error {
	if len([]rune(password)) < MinPasswordLength {
		return newError(CodeWeakPassword, fmt.Sprintf("a password has at least %d characters", MinPasswordLength))
	}
	if len(password) > 72 {
		return newError(CodeWeakPassword, "a password has at most 72 bytes")
	}
	return nil
}

func hashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

func checkRole(role string) error {
	if role != model.RoleAdmin && role != model.RoleAgent {
		return newError(CodeBadRequest, `role is "admin" or "agent"`)
	}
	return nil
}

// newAgent validates and builds an agent of a workspace; role "" is admin
// for the workspace's first agent and agent after.
func (s *Service) newAgent(ctx context.Context, workspaceID, email, name, role string) (model.Agent, error) {
	addr, err := ValidateEmail(email)
	if err != nil {
		return model.Agent{}, err
	}
	n, err := cleanName(name)
	if err != nil {
		return model.Agent{}, err
	}
	if n == nil {
		return model.Agent{}, newError(CodeBadRequest, "an agent needs a name")
	}
	if role == "" {
		count, err := s.db.CountWorkspaceAgents(ctx, workspaceID)
		if err != nil {
			return model.Agent{}, err
		}
		role = model.RoleAgent
		if count == 0 {
			role = model.RoleAdmin
		}
	}
	if err := checkRole(role); err != nil {
		return model.Agent{}, err
	}
	return model.Agent{ID: model.NewID(), WorkspaceID: workspaceID, Email: strings.ToLower(addr), Name: *n,
		Role: role, Status: model.StatusOffline, ChosenStatus: model.StatusOffline,
		StatusSource: model.StatusSourceAgent, CreatedAt: s.now()}, nil
}

// CheckNewAgent reports what would refuse CreateAgent's agent but its
// password (the command line asks for that after).
func (s *Service) CheckNewAgent(ctx context.Context, workspaceID, email, name, role string) error {
	a, err := s.newAgent(ctx, workspaceID, email, name, role)
	if err != nil {
		return err
	}
	switch _, err := s.db.AgentByEmail(ctx, a.Email); {
	case err == nil:
		return agentExists(nil)
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return nil
}

// agentExists refuses a second agent with an email (err: the store's
// word, when it was the one to say it).
func agentExists(err error) error {
	return &Error{Code: CodeDuplicate, Message: "an agent with this email exists", Err: err}
}

func (s *Service) insertAgent(ctx context.Context, a model.Agent) error {
	if err := s.db.CreateAgent(ctx, a); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return agentExists(err)
		}
		return err
	}
	return nil
}

// Agents lists the agents of the actor's workspace.
func (s *Service) Agents(ctx context.Context, actor model.Agent) ([]model.Agent, error) {
	agents, err := s.db.AgentsOf(ctx, actor.WorkspaceID)
	return s.withAvatars(agents), err
}

// AgentsOfWorkspace lists a workspace's agents (command line).
func (s *Service) AgentsOfWorkspace(ctx context.Context, workspaceID string) ([]model.Agent, error) {
	return s.db.AgentsOf(ctx, workspaceID)
}

// agentOf returns an agent of the actor's workspace; another workspace's
// agent is not found.
func (s *Service) agentOf(ctx context.Context, actor model.Agent, id string) (model.Agent, error) {
	a, err := s.db.Agent(ctx, id)
	if err == nil && a.WorkspaceID != actor.WorkspaceID {
		err = store.ErrNotFound
	}
	return a, notFound(err, "agent")
}

// Invitation is a new agent with the single-use link where they set their
// password.
type Invitation struct {
	Agent model.Agent
	Token string
}

// InviteAgent adds an agent who sets their own password through the link
// of the returned token (admin only); role "" is agent.
func (s *Service) InviteAgent(ctx context.Context, actor model.Agent, email, name, role string) (Invitation, error) {
	if err := RequireAdmin(actor); err != nil {
		return Invitation{}, err
	}
	if role == "" {
		role = model.RoleAgent
	}
	a, err := s.newAgent(ctx, actor.WorkspaceID, email, name, role)
	if err != nil {
		return Invitation{}, err
	}
	tok := randomString(32)
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		if err := tx.CreateAgent(ctx, a); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return &Error{Code: CodeDuplicate, Message: "an agent with this email exists", Err: err}
			}
			return err
		}
		return tx.CreateInvite(ctx, hashToken(tok), a.ID, now, now.Add(InviteLifetime))
	})
	if err != nil {
		return Invitation{}, err
	}
	s.log.Info("agent invited", "agent", a.ID, "by", actor.ID)
	s.toAgents(a.WorkspaceID, realtime.AgentUpdated, a)
	return Invitation{Agent: a, Token: tok}, nil
}

// RenewInvite makes a new invitation link for a person whose invitation
// is pending (expired, or its link lost); the link before stops working.
func (s *Service) RenewInvite(ctx context.Context, actor model.Agent, id string) (Invitation, error) {
	if err := RequireAdmin(actor); err != nil {
		return Invitation{}, err
	}
	a, err := s.agentOf(ctx, actor, id)
	if err != nil {
		return Invitation{}, err
	}
	if !a.Invited() {
		return Invitation{}, newError(CodeBadRequest, a.Name+" accepted their invitation already")
	}
	tok, now := randomString(32), s.now()
	if err := s.db.CreateInvite(ctx, hashToken(tok), a.ID, now, now.Add(InviteLifetime)); err != nil {
		return Invitation{}, err
	}
	s.log.Info("agent invited again", "agent", a.ID, "by", actor.ID)
	return Invitation{Agent: a, Token: tok}, nil
}

// InviteExpiries returns when the pending invitations of the actor's
// workspace end, by agent id.
func (s *Service) InviteExpiries(ctx context.Context, actor model.Agent) (map[string]time.Time, error) {
	return s.db.InviteExpiries(ctx, actor.WorkspaceID)
}

// Invitee returns the agent an invitation link is for, while it is valid.
func (s *Service) Invitee(ctx context.Context, tok string) (model.Agent, error) {
	bad := newError(CodeInvalidInvite, "this invitation link is not valid: it was used already, has expired, or was mistyped")
	if tok == "" || len(tok) > 200 {
		return model.Agent{}, bad
	}
	a, err := s.db.AgentByInvite(ctx, hashToken(tok), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return a, bad
	}
	return a, err
}

// AcceptInvite sets the invited agent's password, uses the link up and
// logs them in: it returns a new bearer token.
func (s *Service) AcceptInvite(ctx context.Context, tok, password string) (string, model.Agent, error) {
	a, err := s.Invitee(ctx, tok)
	if err != nil {
		return "", a, err
	}
	if err := checkPassword(password); err != nil {
		return "", a, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return "", a, err
	}
	session := randomString(32)
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		used, err := tx.UseInvite(ctx, hashToken(tok))
		if err != nil {
			return err
		}
		if !used {
			return newError(CodeInvalidInvite, "this invitation link was used already")
		}
		if err := tx.SetAgentPassword(ctx, a.ID, hash); err != nil {
			return err
		}
		return tx.CreateToken(ctx, hashToken(session), a.ID, now, now.Add(TokenLifetime))
	})
	if err != nil {
		return "", a, err
	}
	a.PasswordHash = hash
	s.log.Info("invitation accepted", "agent", a.ID)
	return session, a, nil
}

// AgentPatch is what PATCH /api/v1/agents/{id} may change.
type AgentPatch struct {
	Name *string `json:"name"`
	Role *string `json:"role"`
}

// UpdateAgent changes an agent's name or role: an admin may change anyone
// of the workspace, an agent only their own name. The last admin cannot be
// demoted.
func (s *Service) UpdateAgent(ctx context.Context, actor model.Agent, id string, p AgentPatch) (model.Agent, error) {
	a, err := s.agentOf(ctx, actor, id)
	if err != nil {
		return a, err
	}
	self := a.ID == actor.ID
	if !actor.IsAdmin() && (!self || p.Role != nil) {
		return a, newError(CodeForbidden, "only an admin may change other agents or roles")
	}
	name, role := a.Name, a.Role
	if p.Name != nil {
		n, err := cleanName(*p.Name)
		if err != nil {
			return a, err
		}
		if n == nil {
			return a, newError(CodeBadRequest, "an agent needs a name")
		}
		name = *n
	}
	if p.Role != nil {
		if err := checkRole(*p.Role); err != nil {
			return a, err
		}
		role = *p.Role
	}
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		if a.IsAdmin() && role != model.RoleAdmin {
			if err := s.keepAnAdmin(ctx, tx, a); err != nil {
				return err
			}
		}
		return tx.UpdateAgentProfile(ctx, a.ID, name, role)
	})
	if err != nil {
		return a, err
	}
	a.Name, a.Role = name, role
	s.toAgents(a.WorkspaceID, realtime.AgentUpdated, a)
	return a, nil
}

// keepAnAdmin refuses to take away the workspace's last admin. It runs in
// the transaction that takes the admin away, after locking the workspace
// row, so two admins demoting each other at once cannot both succeed.
func (s *Service) keepAnAdmin(ctx context.Context, tx *store.Store, a model.Agent) error {
	if err := tx.LockWorkspace(ctx, a.WorkspaceID); err != nil {
		return err
	}
	n, err := tx.CountAdmins(ctx, a.WorkspaceID)
	if err != nil {
		return err
	}
	if a.Invited() {
		return nil // not counted among the admins who can log in
	}
	if n <= 1 {
		return newError(CodeLastAdmin, "this is the workspace's last admin: make another agent admin first")
	}
	return nil
}

// RemoveAgent deletes an agent of the workspace (admin only): they can no
// longer log in, their tokens, sessions and open dashboards stop at once,
// and their messages keep the name they were written under.
func (s *Service) RemoveAgent(ctx context.Context, actor model.Agent, id string) error {
	if err := RequireAdmin(actor); err != nil {
		return err
	}
	a, err := s.agentOf(ctx, actor, id)
	if err != nil {
		return err
	}
	return s.removeAgent(ctx, a)
}

// RemoveAgentByEmail deletes an agent by login email (command line).
func (s *Service) RemoveAgentByEmail(ctx context.Context, email string) (model.Agent, error) {
	a, err := s.db.AgentByEmail(ctx, email)
	if err != nil {
		return a, notFound(err, "agent "+email)
	}
	return a, s.removeAgent(ctx, a)
}

func (s *Service) removeAgent(ctx context.Context, a model.Agent) error {
	var (
		unassigned []string
		lines      []model.Message
	)
	hooks := s.hooks()
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		lines = lines[:0]
		// An automatic assignment holding the agent's row (on PostgreSQL)
		// commits first: the conversation it gave is then unassigned
		// below, rather than left pointing at nobody.
		if err := tx.LockAgent(ctx, a.ID); err != nil {
			return notFound(err, "agent")
		}
		if a.IsAdmin() {
			if err := s.keepAnAdmin(ctx, tx, a); err != nil {
				return err
			}
		}
		// The agent's conversations go back to nobody with the removal,
		// and say so: their last line named the agent as theirs.
		var err error
		if unassigned, err = tx.UnassignAgent(ctx, a.WorkspaceID, a.ID); err != nil {
			return err
		}
		for _, id := range unassigned {
			l := s.historyLine(model.Conversation{ID: id, WorkspaceID: a.WorkspaceID}, a.Name+" was removed from the team: nobody has the conversation now.")
			if err := tx.CreateHistoryLine(ctx, l); err != nil {
				return err
			}
			if err := hooks.emitNotes(ctx, tx, &l); err != nil {
				return err
			}
			lines = append(lines, l)
		}
		return tx.DeleteAgent(ctx, a.ID)
	})
	if err != nil {
		return err
	}
	hooks.done()
	for i, id := range unassigned {
		if c, err := s.db.Conversation(ctx, a.WorkspaceID, id); err == nil {
			s.toAgents(a.WorkspaceID, realtime.ConversationUpdated, c)
		}
		s.lineToAgents(a.WorkspaceID, &lines[i])
	}
	s.revoke(realtime.Revocation{AgentID: a.ID})
	s.log.Info("agent removed", "agent", a.ID)
	s.toAgents(a.WorkspaceID, realtime.AgentRemoved, map[string]string{"id": a.ID})
	s.refreshAvailability(ctx, a.WorkspaceID)
	if len(unassigned) > 0 {
		s.requestHandOut(ctx, a.WorkspaceID) // their conversations wait for somebody
	}
	return nil
}

// confirmPassword checks that current is actor's password, for what (a
// password change, a new API token): what a stolen session alone must
// not do. Guesses at it are guesses at the account's, as at the login
// form: they wait as long, and count with the login's.
func (s *Service) confirmPassword(ctx context.Context, actor model.Agent, current, what string) error {
	// The password as stored now: actor may be a moment old (kept with its
	// token, see kept).
	stored, err := s.db.Agent(ctx, actor.ID)
	if err != nil {
		return notFound(err, "agent")
	}
	account, now := accountKey(stored.Email), s.now()
	if wait := s.logins.byAccount.wait(account, now); wait > 0 {
		return rateLimited("too many wrong passwords; try again in "+roundUp(wait).String(), wait)
	}
	if bcrypt.CompareHashAndPassword([]byte(stored.PasswordHash), []byte(current)) != nil {
		n := s.logins.byAccount.fail(account, now)
		s.log.Warn("wrong current password at "+what, "agent", actor.ID, "account_failures", n)
		return newError(CodeInvalidCredentials, "the current password is wrong")
	}
	s.logins.byAccount.reset(account)
	return nil
}

// ChangePassword sets a new password for the actor after checking the
// current one; every other login's token and session of theirs stops,
// with its open dashboards (API tokens stay). tok is the token of the
// request, which stays valid.
func (s *Service) ChangePassword(ctx context.Context, actor model.Agent, tok, current, next string) error {
	if err := s.confirmPassword(ctx, actor, current, "a password change"); err != nil {
		return err
	}
	if err := checkPassword(next); err != nil {
		return err
	}
	hash, err := hashPassword(next)
	if err != nil {
		return err
	}
	keep := hashToken(tok)
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		if err := tx.SetAgentPassword(ctx, actor.ID, hash); err != nil {
			return err
		}
		return tx.DeleteAgentTokens(ctx, actor.ID, keep)
	})
	if err != nil {
		return err
	}
	// The connections of the agent's other logins close; those opened
	// with an API token stay, as the tokens do.
	s.revoke(realtime.Revocation{AgentID: actor.ID, Except: keep, Logins: true})
	s.log.Info("agent changed their password; other sessions ended", "agent", actor.ID)
	return nil
}

// RenameWorkspace changes a workspace's name.
func (s *Service) RenameWorkspace(ctx context.Context, workspaceID, name string) (model.Workspace, error) {
	n, err := workspaceName(name)
	if err != nil {
		return model.Workspace{}, err
	}
	if err := s.db.RenameWorkspace(ctx, workspaceID, n); err != nil {
		return model.Workspace{}, notFound(err, "workspace")
	}
	s.eval.WorkspaceChanged(ctx, workspaceID)
	return s.Workspace(ctx, workspaceID)
}

// ValidTimeZone reports whether name is an IANA time zone this system
// knows ("Local" and abbreviations are refused).
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// Waiting counts the open conversations of the actor's workspace whose
// visitor waits for an answer (a message no agent has seen).
func (s *Service) Waiting(ctx context.Context, actor model.Agent) (int, error) {
	return s.db.CountWaiting(ctx, actor.WorkspaceID)
}

// TokenHashValid reports whether a stored token (by its hash) still
// authenticates an agent.
func (s *Service) TokenHashValid(ctx context.Context, hash string) (bool, error) {
	_, err := s.db.AgentByToken(ctx, hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
