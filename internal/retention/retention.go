// Package retention decides which archived versions a [zerosync.Retention]
// removes. It is pure: the endpoints list their archives, ask [Select], and
// remove what it returns.
package retention

import (
	"time"

	"github.com/zerosync/zerosync"
)

// Select returns the versions of vs that r removes at now: see
// [zerosync.Retention] for the rules. It never returns the newest version
// of a path, nor a version hold reports (hold may be nil). vs is not
// changed; its order does not matter.
func Select(vs []zerosync.FileVersion, r zerosync.Retention, now time.Time, hold func(zerosync.FileVersion) bool) []zerosync.FileVersion {
	if len(vs) == 0 {
		return nil
	}
	sorted := make([]zerosync.FileVersion, len(vs))
	copy(sorted, vs)
	zerosync.SortVersions(sorted)
	held := func(v zerosync.FileVersion) bool { return hold != nil && hold(v) }

	byPath := map[string][]int{} // indexes into sorted, newest first
	for i, v := range sorted {
		byPath[v.Path] = append(byPath[v.Path], i)
	}
	drop := make([]bool, len(sorted))
	newest := make([]bool, len(sorted))
	for _, idx := range byPath {
		newest[idx[0]] = true
		// Oldest first, as Syncthing's staggered versioning does: the
		// oldest version kept is an anchor, and a newer one is kept when
		// it is at least its step's interval after the last one kept. So
		// a version kept once stays kept as it ages through the steps,
		// however often the archive is pruned.
		var (
			prev  time.Time
			first = true
			kept  []int // kept, neither newest nor held, oldest first
		)
		for j := len(idx) - 1; j >= 1; j-- {
			i := idx[j]
			v := sorted[i]
			if held(v) {
				prev, first = v.Time, false
				continue
			}
			age := max(now.Sub(v.Time), 0)
			if r.MaxAge > 0 && age > r.MaxAge {
				drop[i] = true
				continue
			}
			if every := interval(r.Steps, age); !first && every > 0 && v.Time.Sub(prev) < every {
				drop[i] = true
				continue
			}
			prev, first = v.Time, false
			kept = append(kept, i)
		}
		if r.MaxPerPath > 0 {
			// The newest and the held ones count; the oldest others go.
			count := len(idx)
			for _, i := range idx {
				if drop[i] {
					count--
				}
			}
			for _, i := range kept {
				if count <= r.MaxPerPath {
					break
				}
				drop[i] = true
				count--
			}
		}
	}
	if r.MaxBytes > 0 {
		var total int64
		for i, v := range sorted {
			if !drop[i] {
				total += v.Size
			}
		}
		// Oldest first: sorted is newest first.
		for i := len(sorted) - 1; i >= 0 && total > r.MaxBytes; i-- {
			if drop[i] || newest[i] || held(sorted[i]) {
				continue
			}
			drop[i] = true
			total -= sorted[i].Size
		}
	}
	var out []zerosync.FileVersion
	for i, v := range sorted {
		if drop[i] {
			out = append(out, v)
		}
	}
	return out
}

// interval returns the Every of the step that covers age: the last step
// whose Age is at most age; zero (keep all) before the first.
func interval(steps []zerosync.RetentionStep, age time.Duration) time.Duration {
	var every time.Duration
	for _, s := range steps {
		if age < s.Age {
			break
		}
		every = s.Every
	}
	return every
}
