package chat

import (
	"context"
	"time"

	"github.com/parleychat/parley/internal/worker"
)

// SilentVisitorAge is how long a visitor who never wrote (no message, no
// contact) is kept: each widget opened makes one, and a flood of them
// would otherwise stay forever.
const SilentVisitorAge = 24 * time.Hour

// silentVisitorBatch bounds one delete, so that writers wait little.
const silentVisitorBatch = 500

// PruneSilentVisitors deletes the visitors older than SilentVisitorAge at
// now who never wrote, and returns how many.
func (s *Service) PruneSilentVisitors(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for ctx.Err() == nil {
		n, err := s.db.DeleteSilentVisitors(ctx, now.Add(-SilentVisitorAge), silentVisitorBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < silentVisitorBatch {
			break
		}
	}
	return total, nil
}

// RunRetention prunes silent visitors at start and then once a day, until
// ctx ends. Every node may run it: the delete is the same on each.
func (s *Service) RunRetention(ctx context.Context) {
	worker.New(worker.Config{
		Name:    "visitor retention",
		MaxIdle: 24 * time.Hour,
		Logger:  s.log,
		Now:     s.opts.Now,
		Work: func(ctx context.Context) error {
			n, err := s.PruneSilentVisitors(ctx, s.now())
			if n > 0 {
				s.log.Info("deleted visitors who never wrote", "visitors", n, "older_than", SilentVisitorAge)
			}
			return err
		},
	}).Run(ctx)
}
