package forward

// MigratedDB is migratedDB for the tests outside the package.
var MigratedDB = migratedDB
