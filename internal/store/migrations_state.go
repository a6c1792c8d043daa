package store

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrator reads and applies the embedded migrations.
func (db *DB) migrator() (*goose.Provider, error) {
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
	return goose.NewProvider(d, db.SQL, sub, goose.WithGoMigrations(addressMigration(db.dialect), search, searchDetail, searchLater))
}

// MigrationsCurrent reports an error unless the database has every
// migration this build knows (a database migrated further by a newer
// build counts as current).
func (db *DB) MigrationsCurrent(ctx context.Context) error {
	p, err := db.migrator()
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
