package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/parleychat/parley/internal/store"
)

// The secret (PARLEY_SECRET) signs visitor tokens, reply addresses and
// links, and encrypts the Meta tokens in the database: it must not sit in
// that database, or one leaked backup gives both. When PARLEY_SECRET is not
// set, an embedded SQLite database keeps its generated secret in a file
// beside it (PATH.secret, mode 0600); PostgreSQL, shared by several nodes,
// needs PARLEY_SECRET set on each.

// metaSecret is where versions before the secret file kept the generated
// secret (the meta table).
const metaSecret = "secret"

// SecretFile is the file that holds the generated secret of the SQLite
// database at path.
func SecretFile(dbPath string) string { return dbPath + ".secret" }

// loadSecret returns the secret: PARLEY_SECRET when set, else the secret
// file's. A secret still stored in the database (an older version's) is
// moved to the file on the first start and erased from the database.
func loadSecret(ctx context.Context, db *store.DB, dbURL, configured string, log *slog.Logger) ([]byte, error) {
	stored, err := db.GetMeta(ctx, metaSecret)
	if err != nil {
		return nil, err
	}
	if configured != "" && db.Dialect() == store.Postgres {
		if err := checkSharedSecret(ctx, db, configured); err != nil {
			return nil, err
		}
	}
	if configured != "" {
		if stored != "" {
			if stored != configured {
				log.Warn("the database still holds an older generated secret that PARLEY_SECRET replaces; erase it with: DELETE FROM meta WHERE key = 'secret'")
				return []byte(configured), nil
			}
			if err := db.EraseMeta(ctx, metaSecret); err != nil {
				return nil, fmt.Errorf("erase the secret from the database: %w", err)
			}
			log.Info("erased the secret from the database: PARLEY_SECRET holds it")
		}
		return []byte(configured), nil
	}
	path, ok := store.SQLiteFile(dbURL)
	if !ok || db.Dialect() != store.SQLite {
		if stored != "" {
			log.Warn("the secret is stored in the database it protects: set PARLEY_SECRET on every node to its value (SELECT value FROM meta WHERE key = 'secret') and restart; it is then erased from the database")
			return []byte(stored), nil
		}
		return nil, errPostgresSecret
	}
	file := SecretFile(path)
	secret, err := readSecretFile(file, log)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		secret = stored
		if secret == "" {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return nil, fmt.Errorf("generate secret: %w", err)
			}
			secret = hex.EncodeToString(b)
			// A database in use lost its secret (restored without the file
			// beside it, say): what was signed with the old one stops working.
			if n, err := db.CountAgents(ctx); err == nil && n > 0 {
				log.Warn("generated a new secret for a database that is already in use: visitors' sessions, links in emails sent so far and reply addresses signed with the old one no longer work; if this database was restored from a backup, stop Parley, put the backup's secret file back and start again",
					"file", file, "agents", n)
			}
		}
		if secret, err = createSecretFile(file, secret); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if stored != "" {
		if stored != secret {
			return nil, fmt.Errorf("the database holds a secret other than %s's: keep the right one in the file, then erase the other (DELETE FROM meta WHERE key = 'secret')", file)
		}
		if err := db.EraseMeta(ctx, metaSecret); err != nil {
			return nil, fmt.Errorf("erase the secret from the database: %w", err)
		}
		log.Info("moved the secret out of the database", "file", file)
	}
	return []byte(secret), nil
}

// errPostgresSecret refuses PostgreSQL without PARLEY_SECRET.
var errPostgresSecret = errors.New("PARLEY_SECRET is required with PostgreSQL (the same on every node): generate one with openssl rand -hex 32")

// metaSecretCheck holds, on PostgreSQL, a keyed hash of the secret the
// nodes sharing the database started with (never the secret itself).
const metaSecretCheck = "secret_check"

// ErrSecretDiffers refuses a node whose PARLEY_SECRET is not the other
// nodes': its visitor tokens, links and reply addresses would be refused by
// them, and theirs by it, one request in two behind a load balancer.
var ErrSecretDiffers = errors.New("PARLEY_SECRET differs from the one the other nodes of this database started with: set the same value on every node. To change it on purpose, stop every node, erase the old check (DELETE FROM meta WHERE key = 'secret_check') and start them all with the new one")

// checkSharedSecret compares secret with the one the database's first node
// recorded (as a keyed hash), recording it when none is.
func checkSharedSecret(ctx context.Context, db *store.DB, secret string) error {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("parley: the nodes' secret"))
	sum := hex.EncodeToString(mac.Sum(nil))
	stored, err := db.SetMetaIfAbsent(ctx, metaSecretCheck, sum)
	if err != nil {
		return fmt.Errorf("check PARLEY_SECRET against the other nodes': %w", err)
	}
	if !hmac.Equal([]byte(stored), []byte(sum)) {
		return ErrSecretDiffers
	}
	return nil
}

// createSecretFile writes secret to a new file readable by its owner only;
// if another process made the file first, its secret wins.
func createSecretFile(file, secret string) (string, error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readSecretFile(file, slog.Default())
	}
	if err != nil {
		return "", fmt.Errorf("create the secret file: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write the secret file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("write the secret file: %w", err)
	}
	return secret, f.Close()
}

func readSecretFile(file string, log *slog.Logger) (string, error) {
	st, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(file, 0o600); err != nil {
			return "", fmt.Errorf("the secret file %s is readable by others and cannot be made private: %w", file, err)
		}
		log.Warn("the secret file was readable by others; made it 0600", "file", file)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read the secret file: %w", err)
	}
	secret := strings.TrimSpace(string(raw))
	if len(secret) < 16 {
		return "", fmt.Errorf("the secret file %s holds fewer than 16 characters", file)
	}
	return secret, nil
}
