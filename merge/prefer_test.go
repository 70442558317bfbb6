package merge

import (
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func TestPreferNewer(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name        string
		ours, their time.Time
		want        zerosync.Version
	}{
		{"theirs newer", t0, t0.Add(time.Second), zerosync.VersionTheirs},
		{"ours newer", t0.Add(time.Nanosecond), t0, zerosync.VersionOurs},
		{"tie keeps ours", t0, t0, zerosync.VersionOurs},
		{"tie across zones keeps ours", t0, t0.In(time.FixedZone("x", 3600)), zerosync.VersionOurs},
		{"zero time is oldest", time.Time{}, t0, zerosync.VersionTheirs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := textConflict("app.log", "a\n", "b\n", "c\n")
			c.Ours.ModTime, c.Theirs.ModTime = tt.ours, tt.their
			res := mustResolve(t, PreferNewer(), c)
			if res.Keep != tt.want || !res.KeepOther || res.Merged != nil || res.By != "prefer-newer" {
				t.Errorf("got %+v; want Keep %d with KeepOther, By prefer-newer", res, tt.want)
			}
		})
	}
	c := textConflict("app.log", "a\n", "b\n", "c\n")
	c.Theirs = nil
	mustPass(t, PreferNewer(), c)
}

func TestPreferHost(t *testing.T) {
	c := textConflict("f", "a\n", "b\n", "c\n") // hosts alpha (ours), beta (theirs)
	for _, tt := range []struct {
		host string
		want zerosync.Version
	}{
		{"alpha", zerosync.VersionOurs},
		{"beta", zerosync.VersionTheirs},
	} {
		res := mustResolve(t, PreferHost(tt.host), c)
		if res.Keep != tt.want || !res.KeepOther || res.By != "prefer-host" {
			t.Errorf("PreferHost(%q) = %+v; want Keep %d with KeepOther", tt.host, res, tt.want)
		}
	}
	mustPass(t, PreferHost("gamma"), c)
	mustPass(t, PreferHost("Alpha"), c)
	mustPass(t, PreferHost(""), c)
	c.Hosts = [2]string{"", ""}
	mustPass(t, PreferHost(""), c)
	c.Hosts = [2]string{"same", "same"}
	if res := mustResolve(t, PreferHost("same"), c); res.Keep != zerosync.VersionOurs {
		t.Errorf("both sides named the host: Keep = %d, want ours", res.Keep)
	}
}
