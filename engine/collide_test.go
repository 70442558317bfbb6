package engine_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/memory"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// folding is a memory endpoint whose directories compare names as f says,
// as a Windows drive under WSL or a casefolded ext4 directory does: a name
// reaches the entry already there under any variant of it. It has the
// NameFolder ability, so the engine can know.
type folding struct {
	*memory.Endpoint
	f zerosync.Folding

	mu    sync.Mutex
	asked []string // the directories FoldsNames was asked about
}

func newFolding(name string, f zerosync.Folding) *folding {
	return &folding{Endpoint: memory.New(memory.WithName(name)), f: f}
}

func (m *folding) FoldsNames(_ context.Context, dir string) (zerosync.Folding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked = append(m.asked, dir)
	return m.f, nil
}

// resolve turns p into the path of the entry it reaches: each component
// becomes the variant already there, if any.
func (m *folding) resolve(p string) string {
	snap, _, err := m.Endpoint.Scan(context.Background())
	if err != nil {
		return p
	}
	var out string
	for name := range strings.SplitSeq(p, "/") {
		next := name
		for q := range snap {
			if zerosync.Parent(q) == out && engine.FoldKey(q[strings.LastIndexByte(q, '/')+1:], m.f) == engine.FoldKey(name, m.f) {
				next = q[strings.LastIndexByte(q, '/')+1:]
				break
			}
		}
		if out == "" {
			out = next
		} else {
			out += "/" + next
		}
	}
	return out
}

func (m *folding) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return m.Endpoint.Open(ctx, m.resolve(p))
}

func (m *folding) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	op.Path = m.resolve(op.Path)
	return m.Endpoint.Apply(ctx, op, content)
}

func (m *folding) Copy(ctx context.Context, src string, op zerosync.Op) error {
	op.Path = m.resolve(op.Path)
	return m.Endpoint.Copy(ctx, m.resolve(src), op)
}

// foldingPair builds an engine between a plain memory tree (ours) and a
// folding one (theirs).
func foldingPair(t *testing.T, f zerosync.Folding) (*engine.Engine, *memory.Endpoint, *folding) {
	t.Helper()
	a, b := memory.New(memory.WithName("a")), newFolding("b", f)
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	return e, a, b
}

// collided returns the paths of the name collisions a report holds, by side,
// and checks each names every other colliding name, quoted.
func collided(t *testing.T, rep zerosync.Report, names ...string) map[string]zerosync.Side {
	t.Helper()
	out := map[string]zerosync.Side{}
	for _, pr := range rep.Problems {
		if !assert.ErrorIs(t, pr.Err, zerosync.ErrNameCollision, "%v", pr) {
			continue
		}
		out[pr.Path] = pr.Side
		for _, n := range names {
			assert.Contains(t, pr.Err.Error(), `"`+n+`"`, "the problem on %q names %q", pr.Path, n)
		}
	}
	return out
}

func memFile(t *testing.T, ep interface{ ReadFile(string) ([]byte, error) }, p string) string {
	t.Helper()
	b, err := ep.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// TestCaseCollisionHeldBack: two names that differ only in case are held
// back from a peer that folds case, reported on both, and survive on our
// side; the rest of the tree syncs.
func TestCaseCollisionHeldBack(t *testing.T) {
	e, a, b := foldingPair(t, zerosync.Folding{Case: true})
	require.NoError(t, a.WriteFile("README.md", []byte("upper\n"), 0o644))
	require.NoError(t, a.WriteFile("readme.md", []byte("lower\n"), 0o644))
	require.NoError(t, a.WriteFile("Docs/one", []byte("1\n"), 0o644))
	require.NoError(t, a.WriteFile("docs/two", []byte("2\n"), 0o644))
	require.NoError(t, a.WriteFile("other.txt", []byte("other\n"), 0o644))

	for cycle := range 2 {
		rep, err := e.SyncOnce(context.Background())
		require.NoError(t, err)
		got := collided(t, rep)
		assert.Equal(t, map[string]zerosync.Side{"README.md": zerosync.Theirs, "readme.md": zerosync.Theirs, "Docs": zerosync.Theirs, "docs": zerosync.Theirs}, got, "cycle %d", cycle)
		var order []string
		for _, pr := range rep.Problems {
			order = append(order, pr.Path)
		}
		assert.True(t, slices.IsSorted(order), "problems in no order: %q", order)
		if cycle == 1 {
			assert.Empty(t, rep.Applied, "the second cycle has nothing else to do")
		}
		assert.Equal(t, "upper\n", memFile(t, a, "README.md"))
		assert.Equal(t, "lower\n", memFile(t, a, "readme.md"))
		assert.Equal(t, "1\n", memFile(t, a, "Docs/one"))
		assert.Equal(t, "2\n", memFile(t, a, "docs/two"))
		assert.Equal(t, "other\n", memFile(t, b, "other.txt"))
		for _, p := range []string{"README.md", "readme.md", "Docs", "docs"} {
			assert.Nil(t, b.Lstat(p), "%q was written on the folding side", p)
		}
	}
	for _, pr := range must(e.SyncOnce(context.Background())).Problems {
		if pr.Path == "readme.md" {
			assert.Contains(t, pr.Error(), `"readme.md" and "README.md" differ only in case, which b does not tell apart in its top directory`)
		}
	}
}

// TestCaseCollisionInNewFolders: names that collide in folders the same
// cycle makes are held back all the same, and the peer is asked how its
// folders fold names once per folder that exists, not once per new one
// (over SSH each question is a round trip).
func TestCaseCollisionInNewFolders(t *testing.T) {
	e, a, b := foldingPair(t, zerosync.Folding{Case: true})
	require.NoError(t, a.WriteFile("old/keep", []byte("k\n"), 0o644))
	syncOK(t, e)
	b.mu.Lock()
	b.asked = nil
	b.mu.Unlock()
	for i := range 20 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("new/d%02d/deep/f", i), []byte("f\n"), 0o644))
	}
	require.NoError(t, a.WriteFile("new/d07/deep/Name", []byte("upper\n"), 0o644))
	require.NoError(t, a.WriteFile("new/d07/deep/name", []byte("lower\n"), 0o644))
	require.NoError(t, a.WriteFile("old/In", []byte("upper\n"), 0o644))
	require.NoError(t, a.WriteFile("old/in", []byte("lower\n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]zerosync.Side{"new/d07/deep/Name": zerosync.Theirs, "new/d07/deep/name": zerosync.Theirs, "old/In": zerosync.Theirs, "old/in": zerosync.Theirs}, collided(t, rep))
	assert.Equal(t, "f\n", memFile(t, b, "new/d19/deep/f"))
	b.mu.Lock()
	defer b.mu.Unlock()
	slices.Sort(b.asked)
	assert.Equal(t, []string{"", "old"}, slices.Compact(b.asked), "only folders that exist are asked about")
}

// TestCaseCollisionWithSyncedName: a name new on our side never overwrites
// the file a folding peer has under another case; the synced file keeps
// syncing.
func TestCaseCollisionWithSyncedName(t *testing.T) {
	e, a, b := foldingPair(t, zerosync.Folding{Case: true})
	require.NoError(t, a.WriteFile("README.md", []byte("synced\n"), 0o644))
	syncOK(t, e)
	require.Equal(t, "synced\n", memFile(t, b, "README.md"))

	require.NoError(t, a.WriteFile("readme.md", []byte("new\n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]zerosync.Side{"README.md": zerosync.Theirs, "readme.md": zerosync.Theirs}, collided(t, rep, "README.md", "readme.md"))
	assert.Equal(t, "synced\n", memFile(t, b, "README.md"))
	assert.Equal(t, "new\n", memFile(t, a, "readme.md"))

	// An edit of the synced name still reaches the peer.
	require.NoError(t, a.WriteFile("README.md", []byte("edited\n"), 0o644))
	rep, err = e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "edited\n", memFile(t, b, "README.md"))
	assert.Equal(t, "new\n", memFile(t, a, "readme.md"))
	assert.Len(t, collided(t, rep), 2)

	// Renamed apart, both sync.
	require.NoError(t, a.Rename("readme.md", "readme-old.md"))
	rep = syncOK(t, e)
	assert.Equal(t, "new\n", memFile(t, b, "readme-old.md"))
	assert.Equal(t, "edited\n", memFile(t, b, "README.md"))
}

// TestCaseCollisionOnOurSide: our own tree may be the folding one (the hub
// runs on WSL); a peer's names that collide there are held back on our side.
func TestCaseCollisionOnOurSide(t *testing.T) {
	a, b := newFolding("a", zerosync.Folding{Case: true}), memory.New(memory.WithName("b"))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("Makefile", []byte("ours\n"), 0o644))
	require.NoError(t, b.WriteFile("makefile", []byte("theirs\n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	// Our Makefile reaches the peer, which tells the names apart; its
	// makefile is held back from us.
	assert.Equal(t, map[string]zerosync.Side{"Makefile": zerosync.Ours, "makefile": zerosync.Ours}, collided(t, rep, "Makefile", "makefile"))
	assert.Equal(t, "ours\n", memFile(t, a, "Makefile"))
	assert.Equal(t, "ours\n", memFile(t, b, "Makefile"))
	assert.Equal(t, "theirs\n", memFile(t, b, "makefile"))
}

// TestNormalizationCollisionHeldBack: é precomposed (NFC) and decomposed
// (NFD) are one name where the peer folds normalization, and two where it
// folds case only.
func TestNormalizationCollisionHeldBack(t *testing.T) {
	nfc, nfd := "caf\u00e9.txt", "cafe\u0301.txt"
	e, a, b := foldingPair(t, zerosync.Folding{Case: true, Norm: true})
	require.NoError(t, a.WriteFile(nfc, []byte("nfc\n"), 0o644))
	require.NoError(t, a.WriteFile(nfd, []byte("nfd\n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]zerosync.Side{nfc: zerosync.Theirs, nfd: zerosync.Theirs}, collided(t, rep, nfc, nfd))
	for _, pr := range rep.Problems {
		assert.Contains(t, pr.Error(), "Unicode normalization")
	}
	assert.Nil(t, b.Lstat(nfc))
	assert.Nil(t, b.Lstat(nfd))
	assert.Equal(t, "nfc\n", memFile(t, a, nfc))
	assert.Equal(t, "nfd\n", memFile(t, a, nfd))

	// A peer that folds case only keeps them apart.
	e, a, b = foldingPair(t, zerosync.Folding{Case: true})
	require.NoError(t, a.WriteFile(nfc, []byte("nfc\n"), 0o644))
	require.NoError(t, a.WriteFile(nfd, []byte("nfd\n"), 0o644))
	syncOK(t, e)
	assert.Equal(t, "nfc\n", memFile(t, b, nfc))
	assert.Equal(t, "nfd\n", memFile(t, b, nfd))
}

// TestCaseSensitivePeerKeepsBoth: where names are compared byte for byte
// (an endpoint without the ability, a Linux directory), names that differ
// only in case or normalization sync side by side, with no warning.
func TestCaseSensitivePeerKeepsBoth(t *testing.T) {
	names := map[string]string{"README.md": "upper\n", "readme.md": "lower\n", "caf\u00e9": "nfc\n", "cafe\u0301": "nfd\n"}
	e, a, b := pairOf(t)
	for p, data := range names {
		require.NoError(t, a.WriteFile(p, []byte(data), 0o644))
	}
	syncOK(t, e)
	for p, data := range names {
		assert.Equal(t, data, memFile(t, b, p))
	}

	e2, _, _, da, db := localPair(t)
	for p, data := range names {
		writeFile(t, da, p, data)
	}
	syncOK(t, e2)
	for p, data := range names {
		assert.Equal(t, data, readFile(db, p))
	}
}

// TestCaseCollisionOnExFAT: against a real case-insensitive file system,
// names that differ only in case are reported and held back, nothing there
// is overwritten or merged, and the cycle after finds nothing else to do.
func TestCaseCollisionOnExFAT(t *testing.T) {
	tmp := t.TempDir()
	da := filepath.Join(tmp, "a")
	require.NoError(t, os.Mkdir(da, 0o755))
	db := transporttest.ExFAT(t)
	a, err := local.New(da)
	require.NoError(t, err)
	b, err := local.New(db)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithStatePath(filepath.Join(tmp, "state.db")))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })

	writeFile(t, da, "Synced.txt", "synced\n")
	syncOK(t, e)
	require.Equal(t, "synced\n", readFile(db, "Synced.txt"))

	writeFile(t, da, "README.md", "upper\n")
	writeFile(t, da, "readme.md", "lower\n")
	writeFile(t, da, "synced.txt", "another\n")
	writeFile(t, da, "Docs/one", "1\n")
	writeFile(t, da, "docs/two", "2\n")
	writeFile(t, da, "other.txt", "other\n")
	want := map[string]zerosync.Side{"README.md": zerosync.Theirs, "readme.md": zerosync.Theirs,
		"Synced.txt": zerosync.Theirs, "synced.txt": zerosync.Theirs, "Docs": zerosync.Theirs, "docs": zerosync.Theirs}
	for cycle := range 2 {
		rep, err := e.SyncOnce(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want, collided(t, rep), "cycle %d", cycle)
		if cycle == 1 {
			assert.Empty(t, rep.Applied, "the second cycle has nothing else to do")
		}
		for p, data := range map[string]string{"README.md": "upper\n", "readme.md": "lower\n", "Synced.txt": "synced\n",
			"synced.txt": "another\n", "Docs/one": "1\n", "docs/two": "2\n", "other.txt": "other\n"} {
			assert.Equal(t, data, readFile(da, p), "ours %q", p)
		}
		assert.Equal(t, "synced\n", readFile(db, "Synced.txt"))
		assert.Equal(t, "other\n", readFile(db, "other.txt"))
		entries, err := os.ReadDir(db)
		require.NoError(t, err)
		var got []string
		for _, de := range entries {
			got = append(got, de.Name())
		}
		assert.ElementsMatch(t, []string{zerosync.StateDirName, "Synced.txt", "other.txt"}, got)
	}
}

// TestCaseRenameOnExFAT: a rename that changes only the case of a name
// reaches a case-insensitive peer in one cycle, with no collision.
func TestCaseRenameOnExFAT(t *testing.T) {
	tmp := t.TempDir()
	da := filepath.Join(tmp, "a")
	require.NoError(t, os.Mkdir(da, 0o755))
	db := transporttest.ExFAT(t)
	a, err := local.New(da)
	require.NoError(t, err)
	b, err := local.New(db)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithStatePath(filepath.Join(tmp, "state.db")))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })

	writeFile(t, da, "README.md", "text\n")
	syncOK(t, e)
	require.NoError(t, os.Rename(filepath.Join(da, "README.md"), filepath.Join(da, "Readme.md")))
	syncOK(t, e)
	entries, err := os.ReadDir(db)
	require.NoError(t, err)
	var got []string
	for _, de := range entries {
		got = append(got, de.Name())
	}
	assert.ElementsMatch(t, []string{zerosync.StateDirName, "Readme.md"}, got)
	assert.Equal(t, "text\n", readFile(db, "Readme.md"))
	rep := syncOK(t, e)
	assert.False(t, rep.Changed())
}

// TestPlanShowsCollisions: the dry run holds the same creations back and
// reports the same problems.
func TestPlanShowsCollisions(t *testing.T) {
	e, a, _ := foldingPair(t, zerosync.Folding{Case: true})
	require.NoError(t, a.WriteFile("README.md", []byte("upper\n"), 0o644))
	require.NoError(t, a.WriteFile("readme.md", []byte("lower\n"), 0o644))
	require.NoError(t, a.WriteFile("other.txt", []byte("other\n"), 0o644))
	plans, err := e.Plan(context.Background())
	require.NoError(t, err)
	pp := plans["b"]
	var creates []string
	for _, act := range pp.Actions {
		creates = append(creates, act.Path)
	}
	assert.Equal(t, []string{"other.txt"}, creates)
	assert.Equal(t, map[string]zerosync.Side{"README.md": zerosync.Theirs, "readme.md": zerosync.Theirs}, collided(t, zerosync.Report{Problems: pp.Problems}))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestFoldKey(t *testing.T) {
	caseOnly, normOnly, both := zerosync.Folding{Case: true}, zerosync.Folding{Norm: true}, zerosync.Folding{Case: true, Norm: true}
	nfc, nfd := "caf\u00e9", "cafe\u0301"
	for _, tc := range []struct {
		a, b string
		f    zerosync.Folding
		same bool
	}{
		{"README.md", "readme.md", caseOnly, true},
		{"README.md", "readme.md", zerosync.Folding{}, false},
		{"README.md", "readme.md", normOnly, false},
		{"ÉTÉ", "été", caseOnly, true},
		{nfc, nfd, caseOnly, false},
		{nfc, nfd, normOnly, true},
		{"CAF\u00c9", nfd, both, true},
		{"CAF\u00c9", nfd, caseOnly, false},
		{"a\xffB", "A\xffb", caseOnly, true},
		{"a\xffB", "A\xffb", zerosync.Folding{}, false},
		{"\xff", "\xfe", caseOnly, false},
		{"x", "y", both, false},
	} {
		got := engine.FoldKey(tc.a, tc.f) == engine.FoldKey(tc.b, tc.f)
		assert.Equal(t, tc.same, got, "%q and %q folding %s", tc.a, tc.b, tc.f)
	}
}

// FuzzFoldKey: a name from a peer never upsets the folding, folding nothing
// changes nothing, and names that differ only in ASCII case, or only in
// normalization, are one where the directory folds that.
func FuzzFoldKey(f *testing.F) {
	for _, s := range []string{"README.md", "caf\u00e9", "cafe\u0301", "\xff\xfeA", "Straße", "ǅ", "\u0345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fo := range []zerosync.Folding{{}, {Case: true}, {Norm: true}, {Case: true, Norm: true}} {
			k := engine.FoldKey(s, fo)
			if !fo.Any() && k != s {
				t.Fatalf("%q changed to %q by no folding", s, k)
			}
			if fo.Case && engine.FoldKey(asciiSwap(s), fo) != k {
				t.Fatalf("%q and %q differ under %s folding", s, asciiSwap(s), fo)
			}
		}
		if utf8.ValidString(s) {
			fo := zerosync.Folding{Norm: true}
			if engine.FoldKey(norm.NFC.String(s), fo) != engine.FoldKey(norm.NFD.String(s), fo) {
				t.Fatalf("the NFC and NFD forms of %q differ under normalization folding", s)
			}
		}
	})
}

// asciiSwap swaps the case of the ASCII letters of s.
func asciiSwap(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}
