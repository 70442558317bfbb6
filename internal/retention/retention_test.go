package retention

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// versions makes one version of path at each offset from t0, size bytes
// each, with IDs path@offset.
func versions(path string, size int64, offsets ...time.Duration) []zerosync.FileVersion {
	var vs []zerosync.FileVersion
	for _, o := range offsets {
		vs = append(vs, zerosync.FileVersion{ID: fmt.Sprintf("%s@%v", path, o), Path: path, Time: t0.Add(o), Size: size, Reason: zerosync.ReasonReplaced})
	}
	return vs
}

func ids(vs []zerosync.FileVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	slices.Sort(out)
	return out
}

// kept returns the IDs of vs that Select leaves.
func kept(vs []zerosync.FileVersion, r zerosync.Retention, now time.Time, hold func(zerosync.FileVersion) bool) []string {
	gone := map[string]bool{}
	for _, v := range Select(vs, r, now, hold) {
		gone[v.ID] = true
	}
	var out []string
	for _, v := range vs {
		if !gone[v.ID] {
			out = append(out, v.ID)
		}
	}
	slices.Sort(out)
	return out
}

func every(step time.Duration, n int) []time.Duration {
	var out []time.Duration
	for i := range n {
		out = append(out, time.Duration(i)*step)
	}
	return out
}

func TestZeroRetentionKeepsEverything(t *testing.T) {
	vs := versions("f", 10, every(time.Minute, 50)...)
	assert.Empty(t, Select(vs, zerosync.Retention{}, t0.Add(1000*24*time.Hour), nil))
}

func TestStaggered(t *testing.T) {
	// A version every 10 minutes for 5 hours; now is 5h01m after the first.
	vs := versions("f", 1, every(10*time.Minute, 31)...)
	r := zerosync.Retention{Steps: []zerosync.RetentionStep{{Age: time.Hour, Every: time.Hour}}}
	now := t0.Add(5*time.Hour + time.Minute)
	got := kept(vs, r, now, nil)
	// Older than an hour: one an hour from the oldest (0h00, 1h00, 2h00,
	// 3h00, 4h00); younger: all six (4h10 .. 5h00).
	want := ids(versions("f", 1, 0, time.Hour, 2*time.Hour, 3*time.Hour, 4*time.Hour,
		250*time.Minute, 260*time.Minute, 270*time.Minute, 280*time.Minute, 290*time.Minute, 300*time.Minute))
	assert.Equal(t, want, got)
}

func TestDefaultRetentionTiers(t *testing.T) {
	// One version an hour for 60 days: the default keeps the last hour's,
	// then about one an hour for a day, one a day to 30 days, one a week
	// after.
	vs := versions("f", 1, every(time.Hour, 60*24)...)
	now := t0.Add(60 * 24 * time.Hour)
	got := kept(vs, zerosync.DefaultRetention(), now, nil)
	byAge := map[string]int{}
	for _, v := range vs {
		if !slices.Contains(got, v.ID) {
			continue
		}
		switch age := now.Sub(v.Time); {
		case age < 24*time.Hour:
			byAge["day"]++
		case age < 30*24*time.Hour:
			byAge["month"]++
		default:
			byAge["older"]++
		}
	}
	assert.Equal(t, 23, byAge["day"], "one an hour for the first day (ages 1h to 23h)")
	assert.InDelta(t, 29, byAge["month"], 1, "one a day to 30 days")
	assert.InDelta(t, 4, byAge["older"], 1, "one a week for the 30 days after")
}

func TestMaxAgeKeepsTheNewest(t *testing.T) {
	vs := append(versions("old", 1, 0, time.Minute), versions("new", 1, 0, 47*time.Hour)...)
	r := zerosync.Retention{MaxAge: 24 * time.Hour}
	got := kept(vs, r, t0.Add(48*time.Hour), nil)
	// Every version of "old" is too old, but its newest stays: a deleted
	// file can always be brought back.
	assert.Equal(t, []string{"new@47h0m0s", "old@1m0s"}, got)
}

func TestMaxPerPath(t *testing.T) {
	vs := append(versions("a", 1, every(time.Minute, 10)...), versions("b", 1, 0)...)
	got := kept(vs, zerosync.Retention{MaxPerPath: 3}, t0.Add(time.Hour), nil)
	assert.Equal(t, []string{"a@7m0s", "a@8m0s", "a@9m0s", "b@0s"}, got)
}

func TestMaxBytesOldestFirst(t *testing.T) {
	vs := append(versions("a", 100, 0, time.Minute, 2*time.Minute), versions("b", 100, 30*time.Second, 90*time.Second)...)
	got := kept(vs, zerosync.Retention{MaxBytes: 300}, t0.Add(time.Hour), nil)
	// 500 bytes, cap 300: the two oldest that may go (a@0, b@30s) go.
	assert.Equal(t, []string{"a@1m0s", "a@2m0s", "b@1m30s"}, got)

	// Newest versions stay even when they alone are over the cap.
	got = kept(vs, zerosync.Retention{MaxBytes: 1}, t0.Add(time.Hour), nil)
	assert.Equal(t, []string{"a@2m0s", "b@1m30s"}, got)
}

func TestHoldIsNeverRemoved(t *testing.T) {
	vs := versions("f", 100, every(time.Minute, 5)...)
	vs[1].Reason = zerosync.ReasonConflict
	hold := func(v zerosync.FileVersion) bool { return v.Reason == zerosync.ReasonConflict }
	r := zerosync.Retention{MaxAge: time.Second, MaxPerPath: 1, MaxBytes: 1}
	got := kept(vs, r, t0.Add(time.Hour), hold)
	assert.Equal(t, []string{"f@1m0s", "f@4m0s"}, got)
	require.Len(t, Select(vs, r, t0.Add(time.Hour), nil), 4, "without the hold, all but the newest go")
}

func TestRetentionCheck(t *testing.T) {
	require.NoError(t, zerosync.DefaultRetention().Check())
	require.NoError(t, zerosync.Retention{}.Check())
	for _, r := range []zerosync.Retention{
		{MaxAge: -1},
		{MaxPerPath: -1},
		{MaxBytes: -1},
		{Steps: []zerosync.RetentionStep{{Age: 0, Every: time.Hour}}},
		{Steps: []zerosync.RetentionStep{{Age: time.Hour, Every: -1}}},
		{Steps: []zerosync.RetentionStep{{Age: 2 * time.Hour, Every: time.Hour}, {Age: time.Hour, Every: time.Hour}}},
		{Steps: []zerosync.RetentionStep{{Age: time.Hour, Every: time.Hour}, {Age: 2 * time.Hour, Every: time.Minute}}},
	} {
		assert.Error(t, r.Check(), "%+v", r)
	}
}

// TestStaggeredUnderRepeatedPruning: an archive pruned after every
// archiving ends as one pruned once.
func TestStaggeredUnderRepeatedPruning(t *testing.T) {
	r := zerosync.DefaultRetention()
	var live []zerosync.FileVersion
	now := t0
	for i := range 3 * 24 * 6 { // a version every 10 minutes for 3 days
		now = t0.Add(time.Duration(i) * 10 * time.Minute)
		live = append(live, versions("f", 1, time.Duration(i)*10*time.Minute)...)
		gone := map[string]bool{}
		for _, v := range Select(live, r, now, nil) {
			gone[v.ID] = true
		}
		live = slices.DeleteFunc(live, func(v zerosync.FileVersion) bool { return gone[v.ID] })
	}
	count := map[string]int{}
	for _, v := range live {
		switch age := now.Sub(v.Time); {
		case age < time.Hour:
			count["hour"]++
		case age < 24*time.Hour:
			count["day"]++
		default:
			count["older"]++
		}
	}
	assert.Equal(t, 6, count["hour"], "every version of the last hour")
	assert.InDelta(t, 23, count["day"], 1, "one an hour for the first day")
	assert.InDelta(t, 2, count["older"], 1, "one a day for the two days before")
	assert.Empty(t, Select(live, r, now, nil), "pruning again changes nothing")
}
