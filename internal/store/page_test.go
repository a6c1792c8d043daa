package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func addPage(t *testing.T, db *store.DB, v model.Visitor, p model.Page) bool {
	t.Helper()
	var added bool
	err := db.InTx(t.Context(), func(tx *store.Store) error {
		var err error
		added, err = tx.AddVisitorPage(t.Context(), v.WorkspaceID, v.ID, p)
		return err
	})
	if err != nil {
		t.Fatalf("add page: %v", err)
	}
	return added
}

func TestVisitorPages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		v := newVisitor(t, db, w.ID, nil)
		other := newVisitor(t, db, w.ID, nil)

		// 60 pages: the last 50 are kept, newest first.
		for i := range 60 {
			p := model.Page{URL: fmt.Sprintf("https://shop.example.com/p/%d", i), Title: fmt.Sprintf("Product %d", i), At: at(time.Duration(i) * time.Second)}
			if !addPage(t, db, v, p) {
				t.Fatalf("page %d not added", i)
			}
		}
		addPage(t, db, other, model.Page{URL: "https://shop.example.com/", Title: "Home", At: at(0)})
		pages, err := db.VisitorPages(ctx, w.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "kept", len(pages), store.PagesKept)
		check(t, "newest", pages[0], model.Page{URL: "https://shop.example.com/p/59", Title: "Product 59", At: stored(at(59 * time.Second))})
		check(t, "oldest kept", pages[49].URL, "https://shop.example.com/p/10")
		var rows int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM visitor_pages WHERE visitor_id = ?`, v.ID).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		check(t, "rows of the visitor", rows, store.PagesKept)

		// The same page again (a reload, a reconnection) changes nothing;
		// the same address with a new title renames the current page.
		if addPage(t, db, v, model.Page{URL: "https://shop.example.com/p/59", Title: "Product 59", At: at(time.Hour)}) {
			t.Fatal("the current page again was added")
		}
		if !addPage(t, db, v, model.Page{URL: "https://shop.example.com/p/59", Title: "Blue shoes", At: at(time.Hour)}) {
			t.Fatal("a new title of the current page changed nothing")
		}
		got, err := db.Visitor(ctx, w.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "current page", *got.Page, model.Page{URL: "https://shop.example.com/p/59", Title: "Blue shoes", At: stored(at(59 * time.Second))})
		pages, _ = db.VisitorPages(ctx, w.ID, v.ID)
		check(t, "renamed in the list", pages[0].Title, "Blue shoes")
		check(t, "still kept", len(pages), store.PagesKept)

		// Another workspace sees nothing.
		w2 := newWorkspace(t, db, "Other", base)
		if pages, _ := db.VisitorPages(ctx, w2.ID, v.ID); len(pages) != 0 {
			t.Fatalf("another workspace read %d pages", len(pages))
		}

		// The export holds them; erasure removes them, and only them.
		ex, err := db.ExportVisitor(ctx, w.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "exported pages", len(ex.Pages), store.PagesKept)
		if err := db.InTx(ctx, func(tx *store.Store) error { _, err := tx.DeleteVisitor(ctx, w.ID, v.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM visitor_pages`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		check(t, "pages left after erasure (the other visitor's)", rows, 1)
	})
}

func TestVisitorContextAndExpiredPages(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		v := newVisitor(t, db, w.ID, nil)
		fr, tz, ref, br, os := "fr-FR", "Europe/Paris", "https://search.example.org/?q=shoes", "Firefox 128", "Linux"
		if err := db.UpdateVisitorContext(ctx, v.ID, store.ContextUpdate{Locale: &fr, TimeZone: &tz, Referrer: &ref, Browser: &br, OS: &os}); err != nil {
			t.Fatal(err)
		}
		// A later session without a referrer keeps the one known.
		de := "de-DE"
		if err := db.UpdateVisitorContext(ctx, v.ID, store.ContextUpdate{Locale: &de}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Visitor(ctx, w.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "context", got.VisitorContext, model.VisitorContext{Locale: &de, TimeZone: &tz, Referrer: &ref, Browser: &br, OS: &os})

		// Retention: with 30 days, pages older than that go.
		addPage(t, db, v, model.Page{URL: "https://a.example/old", Title: "Old", At: at(0)})
		addPage(t, db, v, model.Page{URL: "https://a.example/new", Title: "New", At: at(40 * 24 * time.Hour)})
		n, err := db.DeleteExpiredPages(ctx, at(45*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "deleted without retention", n, 0)
		st := w.Settings
		st.RetentionDays = 30
		if err := db.UpdateSettings(ctx, w.ID, st); err != nil {
			t.Fatal(err)
		}
		if n, err = db.DeleteExpiredPages(ctx, at(45*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		check(t, "deleted with 30 days", n, 1)
		pages, _ := db.VisitorPages(ctx, w.ID, v.ID)
		check(t, "left", len(pages), 1)
		check(t, "left page", pages[0].URL, "https://a.example/new")
	})
}

// BenchmarkAddVisitorPage measures a page change of a visitor who has the
// 50 pages kept already: the update, the insert and the prune, in one
// transaction, on SQLite.
func BenchmarkAddVisitorPage(b *testing.B) {
	ctx := b.Context()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "parley.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	w := model.Workspace{ID: model.NewID(), Name: "Bench", SiteKey: "site-" + model.NewID(), TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: base}
	if err := db.CreateWorkspace(ctx, w); err != nil {
		b.Fatal(err)
	}
	v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: base}
	if err := db.CreateVisitor(ctx, v); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		p := model.Page{URL: fmt.Sprintf("https://shop.example.com/p/%d", i), Title: "Product", At: at(time.Duration(i) * time.Millisecond)}
		if err := db.InTx(ctx, func(tx *store.Store) error { _, err := tx.AddVisitorPage(ctx, w.ID, v.ID, p); return err }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCreateVisitorWithContext: a visitor created with its context holds
// it, and its page is the first of its pages.
func TestCreateVisitorWithContext(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		str := func(s string) *string { return &s }
		vc := model.VisitorContext{Locale: str("fr-FR"), TimeZone: str("Europe/Paris"), Referrer: str("https://search.example.org/"),
			Browser: str("Firefox 128"), OS: str("Linux"), Page: &model.Page{URL: "https://shop.example.com/cart", Title: "Cart", At: at(0)}}
		v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: at(0), VisitorContext: vc}
		if err := db.InTx(ctx, func(tx *store.Store) error { return tx.CreateVisitor(ctx, v) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.VisitorByID(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		vc.Page.At = stored(vc.Page.At)
		check(t, "context", got.VisitorContext, vc)
		pages, err := db.VisitorPages(ctx, w.ID, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "pages", pages, []model.Page{*vc.Page})
		// The page again changes nothing: it is the current page already.
		if addPage(t, db, got, *vc.Page) {
			t.Fatal("the creation's page was added again")
		}

		// Without a page: no pages, nothing else written.
		bare := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: at(0),
			VisitorContext: model.VisitorContext{Browser: str("Safari 17")}}
		if err := db.CreateVisitor(ctx, bare); err != nil {
			t.Fatal(err)
		}
		if got, err = db.VisitorByID(ctx, bare.ID); err != nil {
			t.Fatal(err)
		}
		check(t, "bare context", got.VisitorContext, bare.VisitorContext)
		if pages, err = db.VisitorPages(ctx, w.ID, bare.ID); err != nil || len(pages) != 0 {
			t.Fatalf("pages of a visitor created without one: %+v, %v", pages, err)
		}
	})
}
