package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// Logins are slowed, never locked: after a few failures each further
// attempt on the same account, or from the same address, must wait a
// delay that doubles with every failure, up to a cap. An attacker guessing
// passwords is slowed to a few guesses a minute per account; the owner
// gets in after at most the account's cap, and at once from a known
// device: a browser that logged in to the account before holds a signed
// device cookie, which passes the account's and the address's delays and
// is slowed only by its own failures.

// deviceToken is the purpose of known-device tokens.
const deviceToken = "device"

// backoff counts failures per key and says how long the next attempt
// must wait.
type backoff struct {
	free int           // failures allowed without delay
	base time.Duration // delay after the first failure past free
	cap  time.Duration

	mu    sync.Mutex
	m     map[string]*failures
	swept time.Time
}

type failures struct {
	n    int
	last time.Time
}

func newBackoff(free int, base, cap time.Duration) *backoff {
	return &backoff{free: free, base: base, cap: cap, m: map[string]*failures{}}
}

// delay is how long after the last failure the next attempt may come.
func (b *backoff) delay(n int) time.Duration {
	if n < b.free {
		return 0
	}
	d := b.base
	for i := b.free; i < n && d < b.cap; i++ {
		d *= 2
	}
	return min(d, b.cap)
}

// wait is how long key must still wait before trying (0: it may now).
func (b *backoff) wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.m[key]
	if f == nil {
		return 0
	}
	return max(0, f.last.Add(b.delay(f.n)).Sub(now))
}

// fail records a failure of key and returns its count.
func (b *backoff) fail(key string, now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.swept) > time.Hour {
		// A day without failure forgets them.
		for k, f := range b.m {
			if now.Sub(f.last) > 24*time.Hour {
				delete(b.m, k)
			}
		}
		b.swept = now
	}
	f := b.m[key]
	if f == nil {
		f = &failures{}
		b.m[key] = f
	}
	f.n++
	f.last = now
	return f.n
}

func (b *backoff) reset(key string) { b.take(key) }

// take forgets key's failures and returns how many there were.
func (b *backoff) take(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	if f := b.m[key]; f != nil {
		n = f.n
	}
	delete(b.m, key)
	return n
}

// forgive forgets n of key's failures.
func (b *backoff) forgive(key string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.m[key]; f != nil {
		if f.n -= n; f.n <= 0 {
			delete(b.m, key)
		}
	}
}

type loginLimits struct {
	byAccount, byAddr, byDevice *backoff
	// byPair counts an account's failures from one address: what a login
	// to that account from that address forgives the address.
	byPair *backoff
}

func newLoginLimits() loginLimits {
	return loginLimits{
		// 5 wrong passwords free, then 1 s, 2 s, 4 s ... up to a minute
		// per account: a few guesses a minute, and the owner in after at
		// most a minute.
		byAccount: newBackoff(5, time.Second, time.Minute),
		// An address may try 10 accounts or passwords, then waits up to
		// 15 minutes.
		byAddr:   newBackoff(10, time.Second, 15*time.Minute),
		byDevice: newBackoff(5, time.Second, time.Minute),
		byPair:   newBackoff(0, 0, 0),
	}
}

// accountKey is the key of an account's failures: its email trimmed and
// lower-cased, whether it comes from the login form or the agent's row.
func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// pair is the key of an account's failures from one address.
func pair(account, addr string) string { return account + " " + addr }

// LoginAttempt is what a login form or call sends.
type LoginAttempt struct {
	Email, Password string
	// Addr is the client's address; Device the known-device cookie, if
	// any.
	Addr, Device string
}

// LoginResult is a successful login: the bearer token, the agent, and the
// known-device token to keep in the browser.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time // the token's end: TokenLifetime after the login, however much it is used
	Agent     model.Agent
	Device    string
}

// dummyHash is compared against when the account does not exist, so that a
// wrong email and a wrong password take the same time: a hash of a password
// no account has, at the cost passwords are hashed with (bcrypt.DefaultCost),
// written out rather than made when the process starts, which every
// command would pay for (60 ms).
var dummyHash = []byte("$2a$10$BkwpI56aRbAnOuYkDwvYJO.1DHwD0VWYJdPdYTF69iAsRJ712E7/y")

// Login checks an agent's credentials and returns a new bearer token.
func (s *Service) Login(ctx context.Context, in LoginAttempt) (LoginResult, error) {
	now := s.now()
	account := accountKey(in.Email)
	device := s.knownDevice(ctx, in.Device, account)
	lim := s.logins
	var wait time.Duration
	if device != "" {
		wait = lim.byDevice.wait(device, now)
	} else {
		wait = max(lim.byAccount.wait(account, now), lim.byAddr.wait(in.Addr, now))
	}
	if wait > 0 {
		return LoginResult{}, rateLimited("too many login attempts; try again in "+roundUp(wait).String(), wait)
	}
	a, err := s.checkPassword(ctx, account, in.Password)
	if err != nil {
		if ErrorCode(err) == CodeInvalidCredentials {
			s.loginFailed(account, in.Addr, device, now)
		}
		return LoginResult{}, err
	}
	if device != "" {
		lim.byDevice.reset(device)
	} else {
		// The owner's own mistakes from this address are forgiven, not
		// the address's others: a login to an account of one's own must
		// not clear guesses at everyone else's.
		lim.byAccount.reset(account)
		lim.byAddr.forgive(in.Addr, lim.byPair.take(pair(account, in.Addr)))
	}
	tok := randomString(32)
	if err := s.db.CreateToken(ctx, hashToken(tok), a.ID, now, now.Add(TokenLifetime)); err != nil {
		return LoginResult{}, err
	}
	res := LoginResult{Token: tok, ExpiresAt: now.Add(TokenLifetime), Agent: a, Device: in.Device}
	if device == "" {
		res.Device = s.signer.Sign(deviceToken, a.ID+"."+randomHex(8))
	}
	return res, nil
}

func (s *Service) checkPassword(ctx context.Context, account, password string) (model.Agent, error) {
	bad := newError(CodeInvalidCredentials, "wrong email or password")
	a, err := s.db.AgentByEmail(ctx, account)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	// An unknown account and an invited one (no password yet) are compared
	// against the dummy hash: they take as long as a wrong password, which
	// tells nobody which emails are agents' or invitations'.
	if bcrypt.CompareHashAndPassword(passwordHash(a), []byte(password)) != nil || a.PasswordHash == "" {
		return model.Agent{}, bad
	}
	return a, nil
}

// passwordHash is what a login's password is compared against: the
// agent's hash, or dummyHash while they have none.
func passwordHash(a model.Agent) []byte {
	if a.PasswordHash == "" {
		return dummyHash
	}
	return []byte(a.PasswordHash)
}

// knownDevice returns the device id of a device token made for the
// account's agent, or "".
func (s *Service) knownDevice(ctx context.Context, tok, account string) string {
	if tok == "" {
		return ""
	}
	id, err := s.signer.Verify(deviceToken, tok)
	if err != nil {
		return ""
	}
	agentID, _, ok := strings.Cut(id, ".")
	if !ok {
		return ""
	}
	a, err := s.db.AgentByEmail(ctx, account)
	if err != nil || a.ID != agentID {
		return ""
	}
	return id
}

func (s *Service) loginFailed(account, addr, device string, now time.Time) {
	lim := s.logins
	attrs := []any{"account", logging.MaskEmail(account), "addr", addr}
	if device != "" {
		attrs = append(attrs, "known_device", true, "device_failures", lim.byDevice.fail(device, now))
	} else {
		lim.byPair.fail(pair(account, addr), now)
		attrs = append(attrs, "account_failures", lim.byAccount.fail(account, now), "address_failures", lim.byAddr.fail(addr, now))
	}
	s.log.Warn("login failed", attrs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
