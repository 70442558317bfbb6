package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/engine/enginetest"
)

// TestMain lets the test binary serve as the soak's engine process and as
// its agents, as the program itself does.
func TestMain(m *testing.M) {
	agent.Handle()
	if code, ok := child(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestSoak runs a short soak end to end, processes, kills and cuts
// included, and expects no finding: the replicas settle to the same trees,
// nothing never synced is lost, nothing is torn, no temp file is left. The
// seed is fixed, so the same faults fire every time; the test checks that
// engine kills and broken connections did happen.
func TestSoak(t *testing.T) {
	cfg := defaultConfig()
	cfg.Sequences = 20
	cfg.Seed = 1
	cfg.Faults = 0.6
	cfg.CheckEvery = 5
	cfg.Dir = t.TempDir()
	cfg.Versioning = true
	fig, err := run(cfg)
	require.NoError(t, err)
	var out bytes.Buffer
	fig.print(&out, cfg)
	t.Log("\n" + out.String())
	require.False(t, fig.failed(), "findings:\n%s", strings.Join(fig.Failures, "\n"))
	assert.Equal(t, cfg.Sequences, fig.Sequences)
	assert.Positive(t, fig.Fired[actKillEngine], "no engine kill fired")
	assert.Positive(t, fig.Fired[actCut]+fig.Fired[actKillAgent], "no connection was broken")
	assert.Positive(t, fig.Conflicts, "no conflict met")
	fired := 0
	for _, n := range fig.Fired {
		fired += n
	}
	assert.Equal(t, 1+fired, fig.Starts, "every fault that fired broke the processes, and they started again")
}

// newTestModel returns a model on three fresh directory replicas.
func newTestModel(t *testing.T) *model {
	t.Helper()
	var reps []*enginetest.Dir
	for i := range 3 {
		root := filepath.Join(t.TempDir(), fmt.Sprint("r", i))
		require.NoError(t, os.Mkdir(root, 0o755))
		d, err := enginetest.NewDir(root, enginetest.Local())
		require.NoError(t, err)
		reps = append(reps, d)
	}
	return newModel(rand.New(rand.NewPCG(1, 1)), reps, func(string, ...any) {})
}

// TestLossesClassified: a version found nowhere is a loss, classified by
// whether another replica's tree ever held it and whether its author
// removed it; one in an archive or a conflict copy is kept; one its own
// author removed before anyone had it is not owed.
func TestLossesClassified(t *testing.T) {
	m := newTestModel(t)
	h := newHasher()
	root := func(r int) string { return m.reps[r].Root() }
	mv := func(from, to string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
		require.NoError(t, os.Rename(from, to))
	}
	cp := func(from, to string) {
		t.Helper()
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to, b, 0o644))
	}

	m.seq = 1
	for _, w := range []struct {
		r int
		p string
	}{{1, "a"}, {2, "b"}, {0, "c"}, {1, "d"}, {2, "f/x"}, {0, "e"}} {
		require.True(t, m.write(w.r, w.p), "write r%d %s", w.r, w.p)
	}
	v := m.versions
	cp(filepath.Join(root(2), "b"), filepath.Join(root(0), "b")) // b reaches the hub
	cp(filepath.Join(root(0), "e"), filepath.Join(root(1), "e")) // e reaches r1
	_, foreign, err := m.observe(h)
	require.NoError(t, err)
	require.Empty(t, foreign)
	assert.Equal(t, 1, v[1].elsewhere)
	assert.Zero(t, v[0].elsewhere)

	m.seq = 2
	require.NoError(t, os.Remove(filepath.Join(root(1), "a")))                                      // never synced, gone
	require.NoError(t, os.Remove(filepath.Join(root(2), "b")))                                      // synced, gone everywhere
	require.NoError(t, os.Remove(filepath.Join(root(0), "b")))                                      //
	mv(filepath.Join(root(0), "c"), filepath.Join(root(0), ".zerosync/archive/20260101T000000Z/c")) // archived
	mv(filepath.Join(root(2), "f/x"), filepath.Join(root(2), "f/x.zs-conflict-20260101-000000.000-r0"))
	m.destroy(1, "d") // its author removes it before anyone had it
	require.NoError(t, m.reps[1].Remove("d"))
	m.destroy(0, "e") // its author removes it, and the removal travels
	require.NoError(t, m.reps[0].Remove("e"))
	require.NoError(t, os.Remove(filepath.Join(root(1), "e")))

	views, foreign, err := m.observe(h)
	require.NoError(t, err)
	require.Empty(t, foreign)
	kept, foreign, temps, err := m.kept(views, h)
	require.NoError(t, err)
	require.Empty(t, foreign)
	require.Empty(t, temps)
	losses := m.lose(kept)
	require.Len(t, losses, 3)
	assert.Same(t, v[0], losses[0].v)
	assert.Equal(t, neverSynced, losses[0].kind)
	assert.True(t, losses[0].last)
	assert.Same(t, v[1], losses[1].v)
	assert.Equal(t, syncedReplaced, losses[1].kind)
	assert.Contains(t, losses[1].String(), "then replaced or deleted")
	assert.Same(t, v[5], losses[2].v)
	assert.Equal(t, authorRemoved, losses[2].kind)
	assert.Empty(t, m.lose(kept), "a loss is reported once")
}

// TestRemovedByEveryHolder: a synced version that the person of every
// replica holding it removed or overwrote there is not owed, since no
// engine removed it anywhere (seed 7's sequence 90: three people write
// d/c at once); one that the engine removed from a replica whose person
// still held it is lost, naming that replica.
func TestRemovedByEveryHolder(t *testing.T) {
	m := newTestModel(t)
	h := newHasher()
	root := func(r int) string { return m.reps[r].Root() }
	sync := func(p string, from int, to ...int) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root(from), p))
		require.NoError(t, err)
		for _, r := range to {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root(r), p)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root(r), p), b, 0o644))
		}
	}
	check := func() []loss {
		t.Helper()
		views, foreign, err := m.observe(h)
		require.NoError(t, err)
		require.Empty(t, foreign)
		kept, _, _, err := m.kept(views, h)
		require.NoError(t, err)
		return m.lose(kept)
	}

	m.seq = 1
	require.True(t, m.write(0, "d/c"))
	require.True(t, m.write(0, "b"))
	dc, b := m.versions[0], m.versions[1]
	sync("d/c", 0, 1, 2)
	sync("b", 0, 1, 2)
	require.Empty(t, check())

	m.seq = 2
	// Every person drops their copy of d/c: its author and r1 overwrite
	// it, r2 removes its folder.
	require.True(t, m.write(0, "d/c"))
	require.True(t, m.write(1, "d/c"))
	m.destroy(2, "d")
	require.NoError(t, m.reps[2].Remove("d"))
	// b: r2's person overwrites their copy, its author removes it, and
	// the removal reaches r1, whose copy the engine drops without keeping.
	require.True(t, m.write(2, "b"))
	m.destroy(0, "b")
	require.NoError(t, m.reps[0].Remove("b"))
	require.NoError(t, os.Remove(filepath.Join(root(1), "b")))

	losses := check()
	require.Len(t, losses, 1, "d/c was removed by every person who held it: not owed")
	assert.Same(t, b, losses[0].v)
	assert.Equal(t, authorRemoved, losses[0].kind)
	assert.Contains(t, losses[0].String(), "r1 held it and did not keep it")
	assert.Zero(t, dc.lost)
}

// TestEarlierVersion: a version the engine replaced stays owed when its
// author writes the path again, as an earlier version; one its author
// overwrote while holding it is not owed; a rename moves what the author
// wrote.
func TestEarlierVersion(t *testing.T) {
	m := newTestModel(t)
	m.seq = 1
	require.True(t, m.write(1, "a"))
	first := m.versions[0]
	// The engine replaces it with another replica's version.
	require.True(t, m.write(2, "a"))
	other := m.versions[1]
	b, err := os.ReadFile(filepath.Join(m.reps[2].Root(), "a"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(m.reps[1].Root(), "a"), b, 0o644))

	require.True(t, m.write(1, "a"))
	second := m.versions[2]
	assert.False(t, first.last)
	assert.False(t, first.destroyed, "the engine, not its author, replaced it")
	assert.False(t, other.destroyed, "r1's person overwrote r2's version: owed by r2")
	require.True(t, m.write(1, "a"))
	assert.True(t, second.destroyed, "its author overwrote it")

	third := m.versions[3]
	require.NoError(t, m.reps[1].Rename("a", "g"))
	m.moved(1, "a", "g")
	assert.Equal(t, "g", third.path)
	assert.True(t, third.last)
	m.destroy(1, "g")
	assert.True(t, third.destroyed)
}

// TestTornAndTemp: a file holding content no one wrote is a finding, and
// temp files are seen in the tree and in .zerosync.
func TestTornAndTemp(t *testing.T) {
	m := newTestModel(t)
	h := newHasher()
	m.seq = 1
	require.True(t, m.write(0, "a"))
	r0 := m.reps[0].Root()
	require.NoError(t, os.WriteFile(filepath.Join(r0, "b"), []byte("half a vers"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(r0, ".zs-tmp-1"), nil, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(r0, ".zerosync/archive/s"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(r0, ".zerosync/archive/s/.zs-tmp-2"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(r0, ".zerosync/archive/s/b"), []byte(versionHead+"1 by r0 at b\ntorn"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(r0, ".zerosync/archive/index"), []byte("the library's own"), 0o644))

	views, foreign, err := m.observe(h)
	require.NoError(t, err)
	require.Len(t, foreign, 1)
	assert.Contains(t, foreign[0], `"b" holds content no one wrote`)
	assert.Equal(t, []string{".zs-tmp-1"}, views[0].temps)
	_, foreign, temps, err := m.kept(views, h)
	require.NoError(t, err)
	require.Len(t, foreign, 1)
	assert.Contains(t, foreign[0], `archive/s/b" holds content no one wrote`)
	require.Len(t, temps, 1)
	assert.Contains(t, temps[0], ".zerosync/archive/s/.zs-tmp-2")
}

// TestSameTrees: trees differ by presence, kind, content or permission bits.
func TestSameTrees(t *testing.T) {
	f := node{kind: 'f', mode: 0o644}
	views := func(a, b map[string]node) []view { return []view{{tree: a}, {tree: b}} }
	assert.Empty(t, sameTrees(views(map[string]node{"a": f}, map[string]node{"a": f})))
	g := f
	g.mode = 0o600
	assert.Contains(t, sameTrees(views(map[string]node{"a": f}, map[string]node{"a": g})), `"a" is file -rw-r--r--`)
	assert.Contains(t, sameTrees(views(map[string]node{"a": f}, map[string]node{})), "absent on r1")
	assert.Contains(t, sameTrees(views(map[string]node{}, map[string]node{"a": f})), "absent on r0")
}

// TestFaultMarkers: a byte marker fires once, on its spoke and direction,
// at the byte it names; an event marker at the Nth event.
func TestFaultMarkers(t *testing.T) {
	k := &faults{}
	k.arm(&fault{Action: actCut, Spoke: 1, Dir: "write", Bytes: 10})
	n, f := k.pass(1, 0, 100) // a read: not the marker's direction
	assert.Equal(t, 100, n)
	assert.Nil(t, f)
	n, f = k.pass(2, 1, 100) // the other spoke
	assert.Equal(t, 100, n)
	assert.Nil(t, f)
	n, f = k.pass(1, 1, 8)
	assert.Equal(t, 8, n)
	assert.Nil(t, f)
	n, f = k.pass(1, 1, 8)
	assert.Equal(t, 2, n, "the write is cut at byte 10")
	require.NotNil(t, f)
	n, f = k.pass(1, 1, 8)
	assert.Equal(t, 8, n)
	assert.Nil(t, f, "a fault fires once")

	// An event marker, cutting a real connection.
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	defer theirs.Close()
	nc, err := net.FileConn(ours)
	ours.Close()
	require.NoError(t, err)
	defer nc.Close()
	k.conns = []*countConn{{UnixConn: nc.(*net.UnixConn), spoke: 1, k: k}}
	k.arm(&fault{Action: actCut, Spoke: 1, Event: evApplied, Nth: 2})
	applied := zerosync.Event{Kind: zerosync.EventApplied, Peer: "r1", Action: &zerosync.Action{Side: zerosync.Theirs, Op: zerosync.Op{Path: "a", New: &zerosync.Entry{}}}}
	k.event(zerosync.Event{Kind: zerosync.EventCycleStart})
	k.event(applied)
	fired, _, _ := k.result()
	assert.Empty(t, fired)
	k.event(applied)
	fired, acts, _ := k.result()
	assert.Equal(t, "cut r1 at applied #2", fired)
	assert.Equal(t, []string{"r1 create a", "r1 create a"}, acts)
	n, err = theirs.Read(make([]byte, 1))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, io.EOF, "the connection was shut down")
}

// TestDrawFault: the rate is honoured, every action and marker is drawn,
// and the same seed draws the same faults.
func TestDrawFault(t *testing.T) {
	a, b := rand.New(rand.NewPCG(7, 2)), rand.New(rand.NewPCG(7, 2))
	actions, markers, none := map[string]int{}, map[string]int{}, 0
	for range 2000 {
		f, g := drawFault(a, 0.5), drawFault(b, 0.5)
		require.Equal(t, f, g)
		if f == nil {
			none++
			continue
		}
		actions[f.Action]++
		markers[f.marker()]++
		if f.Event == "" {
			require.GreaterOrEqual(t, f.Bytes, int64(1))
			require.LessOrEqual(t, f.Bytes, int64(1<<20))
		}
	}
	assert.InDelta(t, 1000, none, 150)
	assert.Len(t, actions, 3)
	assert.Len(t, markers, 6)
	assert.Nil(t, drawFault(a, 0))
}

// TestUsage: --help exits 0; a bad flag or argument exits 2.
func TestUsage(t *testing.T) {
	var out, errw bytes.Buffer
	assert.Equal(t, 0, cliMain([]string{"--help"}, &out, &errw))
	assert.Contains(t, errw.String(), "go run ./bench/soak")
	assert.Equal(t, 2, cliMain([]string{"-sequences", "0"}, &out, &errw))
	assert.Equal(t, 2, cliMain([]string{"extra"}, &out, &errw))
}
