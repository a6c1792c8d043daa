package store_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// BenchmarkReply writes agent replies the way a reply request does (read
// the conversation's status, insert the message, touch and claim the
// conversation, read it whole, in one transaction) from many requests at once, each to
// one of 1,000 conversations, on SQLite. ns/op is the time per reply at
// that concurrency; p99-ms the 99th percentile of one call's wait.
func BenchmarkReply(b *testing.B) {
	for _, parallel := range []int{1, 16, 64} {
		b.Run("parallel="+strconv.Itoa(parallel), func(b *testing.B) {
			ctx := b.Context()
			db, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "parley.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			w := model.Workspace{ID: model.NewID(), Name: "W", SiteKey: "site-" + model.NewID(), TimeZone: "UTC",
				Settings: model.DefaultSettings(), CreatedAt: base}
			if err := db.CreateWorkspace(ctx, w); err != nil {
				b.Fatal(err)
			}
			a := model.Agent{ID: model.NewID(), WorkspaceID: w.ID, Email: "a@example.test", Name: "A", Role: model.RoleAdmin,
				Status: model.StatusOnline, PasswordHash: "hash", CreatedAt: base}
			if err := db.CreateAgent(ctx, a); err != nil {
				b.Fatal(err)
			}
			convs := make([]string, 1000)
			for i := range convs {
				v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, EmailStatus: model.EmailOK, CreatedAt: base}
				c := model.Conversation{ID: model.NewID(), WorkspaceID: w.ID, Status: "open", Channel: model.ChannelWebsite,
					Visitor: v, CreatedAt: base, LastMessageAt: base}
				if err := db.CreateVisitor(ctx, v); err != nil {
					b.Fatal(err)
				}
				if err := db.CreateConversation(ctx, c); err != nil {
					b.Fatal(err)
				}
				convs[i] = c.ID
			}
			var n atomic.Int64
			waits := make([]time.Duration, 0, b.N)
			waitsCh := make(chan []time.Duration, 1024)
			b.SetParallelism(parallel)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					id := convs[int(n.Add(1))%len(convs)]
					start := time.Now()
					err := db.InTx(ctx, func(tx *store.Store) error {
						target, err := tx.MessageTarget(ctx, w.ID, id)
						if err != nil {
							return err
						}
						now := time.Now()
						m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: id,
							Author: model.Author{Kind: model.AuthorAgent, ID: &a.ID, Name: &a.Name},
							Kind:   model.KindReply, Channel: model.MsgChannelDashboard, Body: "a reply of a few words", CreatedAt: now}
						_, _, err = tx.CreateReply(ctx, target.Conversation, m, target.Conversation.Assignee == nil)
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				waitsCh <- mine
			})
			b.StopTimer()
			close(waitsCh)
			for w := range waitsCh {
				waits = append(waits, w...)
			}
			if len(waits) > 0 {
				slices.Sort(waits)
				b.ReportMetric(float64(waits[len(waits)*99/100])/1e6, "p99-ms")
			}
		})
	}
}
