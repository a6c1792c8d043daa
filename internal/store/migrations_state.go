package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/crc64"
	"io/fs"
	"path"
	"strconv"
	"strings"

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
	byDialect, err := dialectMigrationsOf(db.dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithGoMigrations(append([]*goose.Migration{addressMigration(db.dialect)}, byDialect...)...)}
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
	current, target, err := db.schemaVersions(ctx, nil)
	if err != nil {
		return err
	}
	if current < target {
		return fmt.Errorf("schema at version %d, this build needs %d (run parley migrate)", current, target)
	}
	return nil
}

// SchemaIsThisBuilds reports an error, saying what to do, unless the
// database's schema is at this build's version: neither older (not
// migrated yet) nor newer (ErrSchemaNewer).
func (db *DB) SchemaIsThisBuilds(ctx context.Context) error {
	current, target, err := db.schemaVersions(ctx, nil)
	switch {
	case err != nil:
		return err
	case current > target:
		return schemaNewer(current, target)
	case current < target:
		return fmt.Errorf("the database's schema is at version %d, this build needs %d: start the server of this build, or run parley migrate, first (this command only reads)", current, target)
	}
	return nil
}

// schemaVersions reads the database's schema version and this build's,
// through p (a new migrator without the lock when nil).
func (db *DB) schemaVersions(ctx context.Context, p *goose.Provider) (current, target int64, err error) {
	if p == nil {
		if p, err = db.migrator(ctx, false); err != nil {
			return 0, 0, fmt.Errorf("read migrations: %w", err)
		}
	}
	if current, target, err = p.GetVersions(ctx); err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, target, nil
}

// schemaNewer is ErrSchemaNewer for a database at version current, past
// this build's target.
func schemaNewer(current, target int64) error {
	return fmt.Errorf("%w: the database's schema is at version %d, this build knows up to %d: run the newer build that migrated it (or restore a backup taken before that upgrade)", ErrSchemaNewer, current, target)
}

// Some migrations differ by dialect (the search index: FTS5 on SQLite,
// tsvector on PostgreSQL; the presence table's key), so each is a Go
// migration reading its dialect's files in migrations/dialect, named
// VERSION_NAME.DIALECT.sql and VERSION_NAME.DIALECT.down.sql; the
// numbered .sql files in migrations are shared.
//
//go:embed migrations/dialect/*.sql
var dialectMigrations embed.FS

// dialectMigrationsOf returns the migrations of migrations/dialect, each
// with its version read from its files' names.
func dialectMigrationsOf(d Dialect) ([]*goose.Migration, error) {
	files, err := fs.Glob(dialectMigrations, "migrations/dialect/*.sqlite.sql")
	if err != nil {
		return nil, err
	}
	var ms []*goose.Migration
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".sqlite.sql") // not a .down.sql file
		digits, _, _ := strings.Cut(name, "_")
		version, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s: no version in its name", f)
		}
		m, err := dialectMigration(version, name, d)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// dialectMigration is the migration of version whose files are name's
// for dialect d.
func dialectMigration(version int64, name string, d Dialect) (*goose.Migration, error) {
	dialect := ".sqlite"
	if d == Postgres {
		dialect = ".postgres"
	}
	run := func(file string) (*goose.GoFunc, error) {
		text, err := dialectMigrations.ReadFile("migrations/dialect/" + file)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", file, err)
		}
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(text)); err != nil {
				return fmt.Errorf("migration %s: %w", file, err)
			}
			return nil
		}}, nil
	}
	up, err := run(name + dialect + ".sql")
	if err != nil {
		return nil, err
	}
	down, err := run(name + dialect + ".down.sql")
	if err != nil {
		return nil, err
	}
	return goose.NewGoMigration(version, up, down), nil
}
