package store

import (
	"testing"

	"github.com/parleychat/parley/internal/model"
)

// TestScanDestinationsMatchColumns keeps the scan functions' fixed arrays
// of destinations as long as the columns they are scanned from: a column
// added to visitorColumns without its count would not fit.
func TestScanDestinationsMatchColumns(t *testing.T) {
	ctx := t.Context()
	db := openMigrated(t)
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+visitorColumns+` FROM visitors v`+visitorAddressJoin+` LIMIT 0`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		t.Fatal(err)
	}
	var vs visitorScan
	if n := len(vs.dest(&model.Visitor{})); len(cols) != visitorColumnCount || n != visitorColumnCount {
		t.Errorf("visitorColumns: %d columns, %d destinations, visitorColumnCount %d", len(cols), n, visitorColumnCount)
	}
}
