package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBackupPostgres is Backup's answer on PostgreSQL, whose own tools make
// consistent copies of a live database.
var ErrBackupPostgres = errors.New(`backup copies SQLite databases only; this database is PostgreSQL: use pg_dump, e.g. pg_dump --format=custom --file=parley.dump "$PARLEY_DATABASE_URL" (restore with pg_restore --clean --if-exists --no-owner --dbname="$PARLEY_DATABASE_URL" parley.dump; both refuse Parley's own URL parameters, such as pool_max_conns: leave them out)`)

// Backup writes a consistent copy of a live SQLite database to out, which
// must not exist yet, readable by its owner only (0600). Writers go on
// meanwhile: VACUUM INTO reads one snapshot, which under WAL blocks
// nobody. The copy is written beside out and put in place only when whole,
// so a failed backup leaves nothing behind.
func (db *DB) Backup(ctx context.Context, out string) error {
	if db.dialect != SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("backup: %s already exists; choose another name or remove it", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial-"+hex.EncodeToString(suffix))
	// VACUUM INTO accepts an empty file: creating it first fixes its mode
	// (SQLite would create it 0644).
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	defer os.Remove(tmp)
	if _, err := db.SQL.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("backup: copy the database: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// A hard link does not replace a file that appeared meanwhile.
	if err := os.Link(tmp, out); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("backup: %s already exists; choose another name or remove it", out)
		}
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
