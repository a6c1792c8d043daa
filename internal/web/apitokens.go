package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// API tokens: GET, POST /api/v1/me/tokens and DELETE
// /api/v1/me/tokens/{id}, and their section of Settings → Your account;
// an admin's GET /api/v1/agents/{id}/tokens and DELETE
// /api/v1/agents/{id}/tokens/{token_id}, and the tokens under each agent
// of Settings → Agents.

func (s *Server) listAPITokens(w http.ResponseWriter, r *http.Request, a model.Agent) {
	s.writeTokens(w, r)(s.svc.APITokens(r.Context(), a))
}

func (s *Server) listAgentAPITokens(w http.ResponseWriter, r *http.Request, a model.Agent) {
	s.writeTokens(w, r)(s.svc.AgentAPITokens(r.Context(), a, r.PathValue("id")))
}

// writeTokens answers a list of API tokens, or the error that came instead.
func (s *Server) writeTokens(w http.ResponseWriter, r *http.Request) func([]model.APIToken, error) {
	return func(tokens []model.APIToken, err error) {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Tokens []model.APIToken `json:"tokens"`
		}{tokens})
	}
}

func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Password      string `json:"password"`
		Name          string `json:"name"`
		ExpiresInDays *int   `json:"expires_in_days"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Password == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"password" is required: the agent's current password (a token outlives a password change)`)
		return
	}
	days := 90
	if in.ExpiresInDays != nil {
		days = *in.ExpiresInDays
	}
	t, err := s.svc.CreateAPIToken(r.Context(), a, in.Password, in.Name, days)
	if err != nil {
		s.failConfirm(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) deleteAPIToken(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.RevokeAPIToken(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteAgentAPIToken(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.RevokeAgentAPIToken(r.Context(), a, r.PathValue("id"), r.PathValue("token_id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tokensView is the API tokens' section of Settings → Your account.
type tokensView struct {
	Tokens tokenTable
	// Made is the token just made, its secret shown this once.
	Made *chat.NewAPIToken
	// NameInput, Days: the form's fields, kept when refused.
	NameInput string
	Days      int
	Error     string
	Lifetimes []option
}

// tokenTable is a table of API tokens, each with its revoke form (the
// template "token-table").
type tokenTable struct {
	CSRF string
	Rows []tokenRow
}

type tokenRow struct {
	model.APIToken
	Created, Expires, LastUsed stamp
	Expired, Never, Unused     bool
	// Revoke is where the row's revoke form posts.
	Revoke string
}

// newTokenTable shows tokens at c's time; revoke is the path of a token's
// revoke form.
func newTokenTable(c clock, csrf string, tokens []model.APIToken, revoke func(id string) string) tokenTable {
	tt := tokenTable{CSRF: csrf}
	for _, t := range tokens {
		row := tokenRow{APIToken: t, Created: c.stamp(t.CreatedAt), Never: t.ExpiresAt == nil, Unused: t.LastUsedAt == nil, Revoke: revoke(t.ID)}
		if t.ExpiresAt != nil {
			row.Expires, row.Expired = c.stamp(*t.ExpiresAt), !c.now.Before(*t.ExpiresAt)
		}
		if t.LastUsedAt != nil {
			row.LastUsed = c.stamp(*t.LastUsedAt)
		}
		tt.Rows = append(tt.Rows, row)
	}
	return tt
}

func (s *Server) fillTokens(r *http.Request, sess *session, p *page, v *tokensView) error {
	tokens, err := s.svc.APITokens(r.Context(), sess.agent)
	if err != nil {
		return err
	}
	v.Tokens = newTokenTable(newClock(p.Workspace.Location()), p.CSRF, tokens, func(id string) string {
		return "/dashboard/settings/account/tokens/" + url.PathEscape(id) + "/revoke"
	})
	if v.Days == 0 && v.NameInput == "" {
		v.Days = 90
	}
	for _, d := range chat.APITokenLifetimes {
		o := option{Value: strconv.Itoa(d), Label: strconv.Itoa(d) + " days", On: d == v.Days}
		if d == 0 {
			o.Label = "Never"
		}
		v.Lifetimes = append(v.Lifetimes, o)
	}
	return nil
}

func (s *Server) dashCreateAPIToken(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PostFormValue("name")
	days, err := strconv.Atoi(r.PostFormValue("expires_in_days"))
	if err != nil {
		days = -1
	}
	t, err := s.svc.CreateAPIToken(r.Context(), sess.agent, r.PostFormValue("password"), name, days)
	if err != nil {
		a := confirmAnswer(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		s.accountPage(w, r, sess, a.Status, "", &accountView{Tokens: &tokensView{NameInput: name, Days: days, Error: a.text()}})
		return
	}
	// The secret is shown in this answer alone: no redirect could carry
	// it without writing it down somewhere.
	w.Header().Set("Cache-Control", "no-store")
	s.accountPage(w, r, sess, http.StatusCreated, "", &accountView{Tokens: &tokensView{Made: &t}})
}

func (s *Server) dashRevokeAgentAPIToken(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if err := s.svc.RevokeAgentAPIToken(r.Context(), sess.agent, id, r.PathValue("token_id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/agents?done=token-revoked#agent-"+url.PathEscape(id), http.StatusSeeOther)
}

func (s *Server) dashRevokeAPIToken(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.RevokeAPIToken(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/account?done=token-revoked#api-tokens", http.StatusSeeOther)
}
