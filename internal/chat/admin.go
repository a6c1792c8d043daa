package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// DefaultWorkspace is the name of the workspace created on first start.
const DefaultWorkspace = "Default"

// TokenLifetime is how long an agent's bearer token (or dashboard session)
// stays valid.
const TokenLifetime = 30 * 24 * time.Hour

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("read random: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateWorkspace makes a workspace with default settings.
func (s *Service) CreateWorkspace(ctx context.Context, name string) (model.Workspace, error) {
	name, err := workspaceName(name)
	if err != nil {
		return model.Workspace{}, err
	}
	now := s.now()
	w := model.Workspace{ID: model.NewID(), Name: name, SiteKey: randomString(12), TimeZone: "UTC",
		Settings: model.DefaultSettings(), AgentsUnavailableSince: &now, CreatedAt: now}
	if err := s.db.CreateWorkspace(ctx, w); err != nil {
		return w, err
	}
	return w, nil
}

// EnsureDefaultWorkspace creates the Default workspace when no workspace
// exists yet.
func (s *Service) EnsureDefaultWorkspace(ctx context.Context) error {
	ws, err := s.db.Workspaces(ctx)
	if err != nil {
		return err
	}
	if len(ws) > 0 {
		return nil
	}
	_, err = s.CreateWorkspace(ctx, DefaultWorkspace)
	return err
}

// Workspaces lists every workspace.
func (s *Service) Workspaces(ctx context.Context) ([]model.Workspace, error) {
	return s.db.Workspaces(ctx)
}

// Workspace returns a workspace.
func (s *Service) Workspace(ctx context.Context, id string) (model.Workspace, error) {
	w, err := s.db.Workspace(ctx, id)
	return w, notFound(err, "workspace")
}

// FindWorkspace finds a workspace by id or by name.
func (s *Service) FindWorkspace(ctx context.Context, idOrName string) (model.Workspace, error) {
	w, err := s.db.Workspace(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		w, err = s.db.WorkspaceByName(ctx, idOrName)
	}
	return w, notFound(err, "workspace "+idOrName)
}

// CreateAgent adds an agent with a password to a workspace; role "" is
// admin for the workspace's first agent and agent after.
func (s *Service) CreateAgent(ctx context.Context, workspaceID, email, name, password, role string) (model.Agent, error) {
	a, err := s.newAgent(ctx, workspaceID, email, name, role)
	if err != nil {
		return a, err
	}
	if err := checkPassword(password); err != nil {
		return a, err
	}
	if a.PasswordHash, err = hashPassword(password); err != nil {
		return a, err
	}
	if err := s.insertAgent(ctx, a); err != nil {
		return a, err
	}
	return a, nil
}

// CountAgents counts agents in every workspace.
func (s *Service) CountAgents(ctx context.Context) (int, error) { return s.db.CountAgents(ctx) }

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// AgentByToken authenticates a bearer token.
func (s *Service) AgentByToken(ctx context.Context, tok string) (model.Agent, error) {
	a, _, err := s.AgentOfToken(ctx, tok)
	return a, err
}

// tokenAgent is what is kept of a token: its agent, and whether it is an
// API token.
type tokenAgent struct {
	agent model.Agent
	api   bool
}

// AgentOfToken authenticates a bearer token, and tells whether it is an
// API token (not a login's).
func (s *Service) AgentOfToken(ctx context.Context, tok string) (model.Agent, bool, error) {
	if tok == "" || len(tok) > 200 {
		return model.Agent{}, false, newError(CodeInvalidToken, "missing or invalid token")
	}
	h, now := hashToken(tok), s.now()
	t, err := s.tokens.read(h, s.db.AccountsGeneration(), now, func() (tokenAgent, time.Time, error) {
		a, use, err := s.db.TokenAgent(ctx, h, now)
		if errors.Is(err, store.ErrNotFound) {
			err = &Error{Code: CodeInvalidToken, Message: "missing, invalid or expired token", Err: err}
		}
		if err == nil && use.API && now.Sub(use.LastUsed) >= time.Minute {
			// The token's list says when each was last used, to the minute.
			if err := s.db.TouchAPIToken(ctx, h, now); err != nil {
				s.log.Warn("could not record the use of an API token", "agent", a.ID, "err", err)
			}
		}
		return tokenAgent{a, use.API}, use.Expires, err
	})
	return t.agent, t.api, err
}

// Logout revokes a login's token and closes the dashboards opened with
// it. An API token is refused: an integration that logs out on its way
// down would otherwise end the token it runs on for good.
func (s *Service) Logout(ctx context.Context, a model.Agent, tok string) error {
	if _, api, err := s.AgentOfToken(ctx, tok); err == nil && api {
		return newError(CodeBadRequest, "this is an API token, which logging out does not end: revoke it with DELETE /api/v1/me/tokens/{id} or in Settings → Your account")
	}
	h := hashToken(tok)
	if err := s.db.DeleteToken(ctx, h); err != nil {
		return err
	}
	// The dashboards of this session close: once the last of the agent's
	// has, they are offline at once (AgentDisconnected). With none open,
	// now.
	s.mu.Lock()
	s.loggedOut[a.ID] = s.now()
	s.mu.Unlock()
	s.revoke(realtime.Revocation{AgentID: a.ID, Only: h})
	s.awayAfterLogout(ctx, a.ID)
	return nil
}

// Settings returns a workspace's settings.
func (s *Service) Settings(ctx context.Context, workspaceID string) (model.Settings, error) {
	w, err := s.db.Workspace(ctx, workspaceID)
	if err != nil {
		return model.Settings{}, notFound(err, "workspace")
	}
	st := w.Settings
	st.WorkspaceName, st.TimeZone = w.Name, w.TimeZone
	return st, nil
}

// SettingsPatch is a subset of Settings to change.
type SettingsPatch struct {
	WorkspaceName   *string           `json:"workspace_name"`
	TimeZone        *string           `json:"time_zone"`
	EmailForwarding *string           `json:"email_forwarding"`
	ContactForm     *ContactFormPatch `json:"contact_form"`
	// IdentityVerification: on, a widget identity without a valid hash is refused.
	IdentityVerification *bool `json:"identity_verification"`
	RetentionDays        *int  `json:"retention_days"`
	// TypingPreview: off, agents see that a visitor types, not what.
	TypingPreview *bool        `json:"typing_preview"`
	Widget        *WidgetPatch `json:"widget"`
	DefaultLocale *string      `json:"default_locale"`
	// AutoAssign: on, a conversation nobody has goes, when its visitor
	// writes, to the online agent with the fewest open ones.
	AutoAssign *bool `json:"auto_assign"`
	// AutoAssignLimit: how many open conversations automatic assignment
	// gives an agent at most (0: no limit).
	AutoAssignLimit *int `json:"auto_assign_limit"`
}

// MaxAutoAssignLimit is the highest limit of open conversations per agent
// (Settings.AutoAssignLimit).
const MaxAutoAssignLimit = 1000

// WidgetPatch is a subset of the widget's look to change.
type WidgetPatch struct {
	Color       *string `json:"color"`
	Position    *string `json:"position"`
	Greeting    *string `json:"greeting"`
	AwayMessage *string `json:"away_message"`
}

// ContactFormPatch is a subset of the contact-form settings to change.
type ContactFormPatch struct {
	OfflineRequiresForm *bool   `json:"offline_requires_form"`
	Online              *string `json:"online"`
}

// UpdateSettingsAs applies a patch to the actor's workspace settings
// (admins only).
func (s *Service) UpdateSettingsAs(ctx context.Context, actor model.Agent, p SettingsPatch) (model.Settings, error) {
	if err := RequireAdmin(actor); err != nil {
		return model.Settings{}, err
	}
	return s.UpdateSettings(ctx, actor.WorkspaceID, p)
}

// UpdateSettings applies a patch to a workspace's settings.
func (s *Service) UpdateSettings(ctx context.Context, workspaceID string, p SettingsPatch) (model.Settings, error) {
	st, err := s.Settings(ctx, workspaceID)
	if err != nil {
		return st, err
	}
	if p.EmailForwarding != nil {
		switch *p.EmailForwarding {
		case model.ForwardOff, model.ForwardUnread, model.ForwardTranscript:
			st.EmailForwarding = *p.EmailForwarding
		default:
			return st, newError(CodeBadRequest, `email_forwarding is one of "off", "unread", "transcript"`)
		}
	}
	if p.ContactForm != nil {
		if p.ContactForm.OfflineRequiresForm != nil {
			st.ContactForm.OfflineRequiresForm = *p.ContactForm.OfflineRequiresForm
		}
		if o := p.ContactForm.Online; o != nil {
			switch *o {
			case "off", "optional", "required":
				st.ContactForm.Online = *o
			default:
				return st, newError(CodeBadRequest, `contact_form.online is one of "off", "optional", "required"`)
			}
		}
	}
	if p.IdentityVerification != nil {
		st.IdentityVerification = *p.IdentityVerification
	}
	if p.TypingPreview != nil {
		st.TypingPreview = *p.TypingPreview
	}
	if p.AutoAssign != nil {
		st.AutoAssign = *p.AutoAssign
	}
	if p.AutoAssignLimit != nil {
		if n := *p.AutoAssignLimit; n < 0 || n > MaxAutoAssignLimit {
			return st, newError(CodeBadRequest, fmt.Sprintf("auto_assign_limit is 0 (no limit) or a number of open conversations up to %d", MaxAutoAssignLimit))
		}
		st.AutoAssignLimit = *p.AutoAssignLimit
	}
	if p.RetentionDays != nil {
		if d := *p.RetentionDays; d < 0 || d > MaxRetentionDays {
			return st, newError(CodeBadRequest, fmt.Sprintf("retention_days is 0 (keep for ever) or a number of days up to %d", MaxRetentionDays))
		}
		st.RetentionDays = *p.RetentionDays
	}
	if err := applyWidgetPatch(&st, p); err != nil {
		return st, err
	}
	if p.TimeZone != nil {
		tz := strings.TrimSpace(*p.TimeZone)
		if !ValidTimeZone(tz) {
			return st, newError(CodeInvalidTimeZone, "time_zone is an IANA time zone name such as Europe/Paris or UTC")
		}
		st.TimeZone = tz
	}
	var name string
	if p.WorkspaceName != nil {
		var err error
		if name, err = workspaceName(*p.WorkspaceName); err != nil {
			return st, err
		}
		st.WorkspaceName = name
	}
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		if err := tx.UpdateSettings(ctx, workspaceID, st); err != nil {
			return err
		}
		if p.TimeZone != nil {
			if err := tx.SetTimeZone(ctx, workspaceID, st.TimeZone); err != nil {
				return err
			}
		}
		if p.WorkspaceName != nil {
			return tx.RenameWorkspace(ctx, workspaceID, name)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	s.eval.WorkspaceChanged(ctx, workspaceID)
	if st.AutoAssign && (p.AutoAssign != nil || p.AutoAssignLimit != nil) {
		s.requestHandOut(ctx, workspaceID) // on, or with more room: the queue is served
	}
	return st, nil
}
