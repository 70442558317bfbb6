package state

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"
)

// PairChange is one change of one pair, for [DB.CommitAll].
type PairChange struct {
	Pair   *Pair
	Change Change
}

// CommitAll commits several changes in one transaction, in the order given:
// the same as committing each with [Pair.Commit] in turn, but made durable
// together, with one write of the file. Changes may belong to different
// pairs, or several to the same pair (a later one then sees the earlier).
//
// It returns one error per change. A change that fails the checks of
// [Pair.Commit] is left out and gets its own error; the others commit
// together or, when the transaction fails, not at all, and then each gets
// that failure. Each change's journal records get their sequence numbers.
func (db *DB) CommitAll(ctx context.Context, cs []PairChange) []error {
	errs := make([]error, len(cs))
	ws := make([]*prepared, len(cs))
	var todo []int
	for i, pc := range cs {
		if pc.Pair == nil || pc.Pair.db != db {
			errs[i] = fmt.Errorf("state: commit: %w: a pair of another database", ErrInvalid)
			continue
		}
		if err := pc.Pair.checkID(); err != nil {
			errs[i] = pc.Pair.errorf("commit", err)
			continue
		}
		w, err := prepare(pc.Change)
		if err != nil {
			errs[i] = pc.Pair.errorf("commit", err)
			continue
		}
		ws[i] = w
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return errs
	}
	seqs := make([][]uint64, len(cs))
	stats := make([]commitStats, len(cs))
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		for _, i := range todo {
			st, s, err := cs[i].Pair.apply(ctx, tx, ws[i])
			if err != nil {
				return err
			}
			seqs[i], stats[i] = s, st
		}
		return ctx.Err()
	})
	for _, i := range todo {
		p := cs[i].Pair
		if err != nil {
			errs[i] = p.errorf("commit", err)
			continue
		}
		for j, s := range seqs[i] {
			cs[i].Change.Journal[j].Seq = s
		}
		st := stats[i]
		db.log.DebugContext(ctx, "state committed", "pair", p.id,
			"set", st.set, "deleted", st.deleted, "bodies", st.bodies, "pruned", st.pruned, "journal", len(seqs[i]))
	}
	return errs
}
