package store

import "context"

// MigrateUpTo applies the migrations up to and including version, for
// tests of a migration on data written by the versions before it.
func (db *DB) MigrateUpTo(ctx context.Context, version int64) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
