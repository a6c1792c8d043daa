package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Dashboard sessions: the session cookie, the login and logout forms, and
// the checks every dashboard request passes (a logged-in agent; for a POST,
// the same origin and a valid CSRF field).

// sessionCookie holds the dashboard's session token.
const sessionCookie = "parley_session"

// maxFormBytes bounds dashboard form bodies: a 10,000-character message is
// at most 40 KB of UTF-8, at most three times that once URL-encoded.
const maxFormBytes = 2 * MaxBodyBytes

// session is the logged-in agent of a dashboard request.
type session struct {
	agent model.Agent
	token string
	csrf  string
}

// dash authenticates a dashboard page by its session cookie (anonymous
// visitors are sent to the login page) and checks the Origin header and the
// CSRF field of every POST.
func (s *Server) dash(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return s.withSession(h, false)
}

// dashPartial is dash for the HTML fragments dashboard.js fetches: an
// anonymous request gets 401, not a redirect to a page it would insert.
func (s *Server) dashPartial(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return s.withSession(h, true)
}

func (s *Server) withSession(h func(http.ResponseWriter, *http.Request, *session), partial bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		anonymous := func(ended bool) {
			if partial {
				http.Error(w, "not logged in", http.StatusUnauthorized)
				return
			}
			to := loginURL(r)
			if ended {
				to = withQuery(to, "ended=1")
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
		}
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			anonymous(false)
			return
		}
		a, err := s.svc.AgentByToken(r.Context(), ck.Value)
		if err != nil {
			if chat.ErrorCode(err) == chat.CodeInvalidToken {
				// A session that was there and is no longer: the login
				// says so.
				s.clearSessionCookie(w)
				anonymous(true)
				return
			}
			s.failPage(w, r, nil, err)
			return
		}
		sess := &session{agent: a, token: ck.Value, csrf: s.csrfToken(ck.Value)}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) {
				s.renderError(w, r, sess, http.StatusForbidden, "This form was sent from another site and was refused.")
				return
			}
			if !parseForm(w, r) {
				return
			}
			if !s.validCSRF(ck.Value, r.PostFormValue("csrf")) {
				s.renderError(w, r, sess, http.StatusForbidden, "This form has expired. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, sess)
	}
}

// sameOrigin reports whether a request's Origin header, when present, names
// the host the request was sent to.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// parseForm reads a form body with a size limit; it answers the error
// itself and returns false when the body is unusable.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
			return false
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			http.Error(w, "the form came too slowly", http.StatusRequestTimeout)
			return false
		}
		http.Error(w, "could not read the form", http.StatusBadRequest)
		return false
	}
	for _, vs := range r.Form {
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				http.Error(w, sentence(errNUL), http.StatusBadRequest)
				return false
			}
		}
	}
	return true
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  time.Now().Add(chat.TokenLifetime),
		HttpOnly: true,
		Secure:   s.secureCookies(),
		SameSite: http.SameSiteLaxMode,
	})
}

// deviceCookie marks a browser that logged in before: its logins pass the
// delays that failed attempts by others put on the account and address.
const deviceCookie = "parley_device"

// deviceLifetime is how long a browser stays known without logging in.
const deviceLifetime = 365 * 24 * time.Hour

func (s *Server) loginAttempt(r *http.Request, email, password string) chat.LoginAttempt {
	in := chat.LoginAttempt{Email: email, Password: password, Addr: s.clientAddr(r)}
	if ck, err := r.Cookie(deviceCookie); err == nil && len(ck.Value) <= 200 {
		in.Device = ck.Value
	}
	return in
}

func (s *Server) setDeviceCookie(w http.ResponseWriter, device string) {
	http.SetCookie(w, &http.Cookie{
		Name:     deviceCookie,
		Value:    device,
		Path:     "/",
		Expires:  time.Now().Add(deviceLifetime),
		HttpOnly: true,
		Secure:   s.secureCookies(),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) secureCookies() bool {
	return strings.HasPrefix(strings.ToLower(s.opts.PublicURL), "https://")
}

// loginURL is the login page for a request that needs a session: a page
// asked for with GET comes back after the login (next), anything else
// goes to the dashboard.
func loginURL(r *http.Request) string {
	if r.Method != http.MethodGet || afterLogin(r.URL.RequestURI()) == "/dashboard" {
		return "/dashboard/login"
	}
	return "/dashboard/login?next=" + url.QueryEscape(r.URL.RequestURI())
}

// afterLogin is where a login sends the agent: next when it is a page of
// the dashboard on this site (localPath) other than the login's own, else
// the dashboard.
func afterLogin(next string) string {
	p := localPath(next)
	if u, err := url.Parse(p); err != nil || u.Path == "/dashboard/login" || u.Path == "/dashboard/logout" {
		return "/dashboard"
	}
	return p
}

func (s *Server) dashLoginPage(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	next := afterLogin(r.URL.Query().Get("next"))
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if _, err := s.svc.AgentByToken(r.Context(), ck.Value); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	s.render(w, http.StatusOK, "login", &page{Title: "Log in", Login: &loginView{Next: loginNext(next), Ended: r.URL.Query().Get("ended") == "1"}})
}

// loginNext is the login form's next field: empty for the dashboard.
func loginNext(next string) string {
	if next == "/dashboard" {
		return ""
	}
	return next
}

func (s *Server) dashLogin(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	if !sameOrigin(r) {
		s.renderError(w, r, nil, http.StatusForbidden, "This form was sent from another site and was refused.")
		return
	}
	if !parseForm(w, r) {
		return
	}
	email := r.PostFormValue("email")
	next := afterLogin(r.PostFormValue("next"))
	again := func(status int, msg string) {
		s.render(w, status, "login", &page{Title: "Log in", Error: msg, Login: &loginView{Email: email, Next: loginNext(next)}})
	}
	res, err := s.svc.Login(r.Context(), s.loginAttempt(r, email, r.PostFormValue("password")))
	if err != nil {
		a := answerOf(err)
		if a.Internal {
			s.log.Error("dashboard login", "err", err)
		}
		retryAfter(w, err)
		again(a.Status, a.text())
		return
	}
	a := res.Agent
	s.setSessionCookie(w, res.Token)
	s.setDeviceCookie(w, res.Device)
	// Logging in to the dashboard means being there to answer.
	if _, err := s.svc.SetAgentStatus(r.Context(), a, model.StatusOnline); err != nil {
		s.log.Error("set agent online after login", "agent", a.ID, "err", err)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) dashLogout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.Logout(r.Context(), sess.agent, sess.token); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	s.clearSessionCookie(w)
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}

// csrfSecret derives the CSRF secret of a session token.
func (s *Server) csrfSecret(session string) []byte {
	mac := hmac.New(sha256.New, s.csrf)
	mac.Write([]byte(session))
	return mac.Sum(nil)[:csrfSize]
}

const csrfSize = 16

// csrfToken is the session's CSRF secret as one response carries it: a
// random mask, then the secret XORed with it. No two pages carry the same
// bytes, so that where a proxy compresses the pages, their lengths beside
// text a visitor wrote tell nothing of the secret (the BREACH attack).
func (s *Server) csrfToken(session string) string {
	secret := s.csrfSecret(session)
	tok := make([]byte, 2*csrfSize)
	_, _ = rand.Read(tok[:csrfSize]) // never fails (crypto/rand)
	for i, b := range secret {
		tok[csrfSize+i] = tok[i] ^ b
	}
	return hex.EncodeToString(tok)
}

// validCSRF reports whether got is a CSRF token of the session: masked,
// or the bare secret a page served by an earlier version carries.
func (s *Server) validCSRF(session, got string) bool {
	raw, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	switch len(raw) {
	case 2 * csrfSize:
		for i := range csrfSize {
			raw[csrfSize+i] ^= raw[i]
		}
		raw = raw[csrfSize:]
	case csrfSize:
	default:
		return false
	}
	return hmac.Equal(raw, s.csrfSecret(session))
}

type loginView struct {
	Email string
	// Next is the page the login goes on to ("": the dashboard).
	Next string
	// Ended: the agent's session ended (a logout elsewhere, a password
	// change, a removal, its expiry): the page says so.
	Ended bool
}
