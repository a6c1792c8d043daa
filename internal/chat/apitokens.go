package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// API tokens: bearer tokens an agent makes for an integration (a bot, a
// CRM sync), each with a name, revoked one by one, acting as the agent who
// made it. A login's token lasts TokenLifetime and ends with a password
// change; an API token lasts what its maker chose (or does not expire)
// and outlives a password change, as those of GitHub or GitLab do.

// APITokenPrefix starts every API token: a log or a secret scanner can
// tell one from a login's token.
const APITokenPrefix = "pat_"

// MaxAPITokens is how many API tokens an agent may have.
const MaxAPITokens = 20

// APITokenLifetimes are the lifetimes a token may be given, in days; 0
// is a token that does not expire.
var APITokenLifetimes = []int{30, 90, 365, 0}

// NewAPIToken is a token just made: its secret is in Token, shown once.
type NewAPIToken struct {
	model.APIToken
	Token string `json:"token"`
}

// CreateAPIToken makes an API token for agent a, named name, that expires
// after days (0: never; one of APITokenLifetimes). It asks for a's
// password: a token that may outlive a password change must not be made
// with a stolen session or token alone.
func (s *Service) CreateAPIToken(ctx context.Context, a model.Agent, password, name string, days int) (NewAPIToken, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return NewAPIToken{}, newError(CodeBadRequest, "name the token (what it is for: \"CRM sync\")")
	case utf8.RuneCountInString(name) > 64:
		return NewAPIToken{}, newError(CodeBadRequest, "a token's name is at most 64 characters")
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return NewAPIToken{}, newError(CodeBadRequest, "a token's name holds letters, digits, spaces and punctuation only")
	}
	if !slices.Contains(APITokenLifetimes, days) {
		return NewAPIToken{}, newError(CodeBadRequest, fmt.Sprintf("a token lasts %s days, or does not expire (0)", daysList()))
	}
	if err := s.confirmPassword(ctx, a, password, "a new API token"); err != nil {
		return NewAPIToken{}, err
	}
	now := s.now()
	t := NewAPIToken{APIToken: model.APIToken{ID: model.NewID(), Name: name, CreatedAt: now}, Token: APITokenPrefix + randomString(32)}
	if days > 0 {
		ends := now.AddDate(0, 0, days)
		t.ExpiresAt = &ends
	}
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		// Held, so that tokens made at once count each other.
		if err := tx.LockAgent(ctx, a.ID); err != nil {
			return notFound(err, "agent")
		}
		n, err := tx.CountAPITokens(ctx, a.ID)
		if err != nil {
			return err
		}
		if n >= MaxAPITokens {
			return newError(CodeBadRequest, fmt.Sprintf("an agent has at most %d API tokens; revoke one first", MaxAPITokens))
		}
		return tx.CreateAPIToken(ctx, hashToken(t.Token), t.APIToken, a.ID)
	})
	if err != nil {
		return NewAPIToken{}, err
	}
	s.log.Info("API token made", "agent", a.ID, "token", t.ID)
	return t, nil
}

// daysList is the lifetimes a token may have, in days, for a refusal.
func daysList() string {
	var b strings.Builder
	for _, d := range APITokenLifetimes {
		if d == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, d)
	}
	return b.String()
}

// APITokens lists agent a's API tokens, newest first.
func (s *Service) APITokens(ctx context.Context, a model.Agent) ([]model.APIToken, error) {
	return s.db.APITokens(ctx, a.ID)
}

// RevokeAPIToken ends agent a's API token id at once, with the live
// connections opened with it.
func (s *Service) RevokeAPIToken(ctx context.Context, a model.Agent, id string) error {
	return s.revokeAPIToken(ctx, a, id, a)
}

// AgentAPITokens lists the API tokens of agent id of actor's workspace,
// newest first: an admin's look at a colleague's (or their own).
func (s *Service) AgentAPITokens(ctx context.Context, actor model.Agent, id string) ([]model.APIToken, error) {
	a, err := s.adminOrSelf(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	return s.db.APITokens(ctx, a.ID)
}

// WorkspaceAPITokens lists the API tokens of every agent of actor's
// workspace, by agent id (admins only).
func (s *Service) WorkspaceAPITokens(ctx context.Context, actor model.Agent) (map[string][]model.APIToken, error) {
	if err := RequireAdmin(actor); err != nil {
		return nil, err
	}
	return s.db.WorkspaceAPITokens(ctx, actor.WorkspaceID)
}

// RevokeAgentAPIToken ends API token tokenID of agent agentID of actor's
// workspace at once, as RevokeAPIToken does: an admin ending a
// colleague's token that leaked, or that an integration no longer needs,
// without removing the colleague.
func (s *Service) RevokeAgentAPIToken(ctx context.Context, actor model.Agent, agentID, tokenID string) error {
	a, err := s.adminOrSelf(ctx, actor, agentID)
	if err != nil {
		return err
	}
	return s.revokeAPIToken(ctx, a, tokenID, actor)
}

// adminOrSelf is agent id of actor's workspace, when actor is an admin or
// that agent.
func (s *Service) adminOrSelf(ctx context.Context, actor model.Agent, id string) (model.Agent, error) {
	if id != actor.ID {
		if err := RequireAdmin(actor); err != nil {
			return model.Agent{}, err
		}
	}
	return s.agentOf(ctx, actor, id)
}

// revokeAPIToken ends agent a's API token id, at by's request.
func (s *Service) revokeAPIToken(ctx context.Context, a model.Agent, id string, by model.Agent) error {
	hash, err := s.db.DeleteAPIToken(ctx, a.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(err, "API token")
	}
	if err != nil {
		return err
	}
	s.revoke(realtime.Revocation{AgentID: a.ID, Only: hash})
	s.log.Info("API token revoked", "agent", a.ID, "token", id, "by", by.ID)
	return nil
}
