package web

import (
	"net/http"
	"strconv"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// API tokens: GET, POST /api/v1/me/tokens and DELETE
// /api/v1/me/tokens/{id}, and their section of Settings → Your account.

func (s *Server) listAPITokens(w http.ResponseWriter, r *http.Request, a model.Agent) {
	tokens, err := s.svc.APITokens(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Tokens []model.APIToken `json:"tokens"`
	}{tokens})
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

// tokensView is the API tokens' section of Settings → Your account.
type tokensView struct {
	Tokens []tokenRow
	// Made is the token just made, its secret shown this once.
	Made *chat.NewAPIToken
	// NameInput, Days: the form's fields, kept when refused.
	NameInput string
	Days      int
	Error     string
	Lifetimes []option
}

type tokenRow struct {
	model.APIToken
	Created, Expires, LastUsed stamp
	Expired, Never, Unused     bool
}

func (s *Server) fillTokens(r *http.Request, sess *session, p *page, v *tokensView) error {
	tokens, err := s.svc.APITokens(r.Context(), sess.agent)
	if err != nil {
		return err
	}
	c := newClock(p.Workspace.Location())
	now := c.now
	for _, t := range tokens {
		row := tokenRow{APIToken: t, Created: c.stamp(t.CreatedAt), Never: t.ExpiresAt == nil, Unused: t.LastUsedAt == nil}
		if t.ExpiresAt != nil {
			row.Expires, row.Expired = c.stamp(*t.ExpiresAt), !now.Before(*t.ExpiresAt)
		}
		if t.LastUsedAt != nil {
			row.LastUsed = c.stamp(*t.LastUsedAt)
		}
		v.Tokens = append(v.Tokens, row)
	}
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

func (s *Server) dashRevokeAPIToken(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.RevokeAPIToken(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/account?done=token-revoked#api-tokens", http.StatusSeeOther)
}
