package store

import (
	"context"
	"fmt"
	"hash/crc64"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrator reads and applies the embedded migrations; with lock, one
// process at a time (see locked): reading the versions needs no lock.
func (db *DB) migrator(ctx context.Context, withLock bool) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if db.dialect == Postgres {
		d = goose.DialectPostgres
	}
	search, err := dialectMigration(24, "00024_search", db.dialect)
	if err != nil {
		return nil, err
	}
	searchDetail, err := dialectMigration(90, "00090_search_detail", db.dialect)
	if err != nil {
		return nil, err
	}
	searchLater, err := dialectMigration(100, "00100_search_later", db.dialect)
	if err != nil {
		return nil, err
	}
	presence, err := dialectMigration(103, "00103_presence_by_subject", db.dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithGoMigrations(addressMigration(db.dialect), search, searchDetail, searchLater, presence)}
	if withLock {
		lockOpt, err := db.locked(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, lockOpt)
	}
	return goose.NewProvider(d, db.SQL, sub, opts...)
}

// locked is how migrations keep to one process at a time, so that nodes
// (or a server and a command) starting together on a new database do not
// apply the same migration twice: on PostgreSQL a session advisory lock
// keyed by the schema migrated (goose's), polled every second for up to
// five minutes; on SQLite a lock on a file beside the database.
func (db *DB) locked(ctx context.Context) (goose.ProviderOption, error) {
	if db.dialect != Postgres {
		return goose.WithLocker(&fileLocker{path: db.path + "-migrate.lock"}), nil
	}
	var schema string
	if err := db.SQL.QueryRowContext(ctx, `SELECT current_database() || '.' || current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("read schema for the migration lock: %w", err)
	}
	id := int64(crc64.Checksum([]byte("parley migrations "+schema), crc64.MakeTable(crc64.ECMA)))
	l, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return goose.WithSessionLocker(l), nil
}

// MigrationsCurrent reports an error unless the database has every
// migration this build knows (a database migrated further by a newer
// build counts as current).
func (db *DB) MigrationsCurrent(ctx context.Context) error {
	p, err := db.migrator(ctx, false)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current < target {
		return fmt.Errorf("schema at version %d, this build needs %d (run parley migrate)", current, target)
	}
	return nil
}
