package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// Harness is an endpoint under test plus a person editing the same tree
// behind its back. Paths are relative to the endpoint's root and
// slash-separated; the person's functions accept reserved names (the suite
// plants them to check that scans hide them) but never invalid paths.
type Harness struct {
	// Endpoint is the endpoint under test, over an empty tree. The function
	// that built the harness closes it (with t.Cleanup).
	Endpoint zerosync.Endpoint

	// WriteFile creates or replaces a file whose content is data and whose
	// permission bits are exactly mode's, creating missing parents.
	WriteFile func(path string, data []byte, mode fs.FileMode) error
	// Mkdir creates a directory whose permission bits are exactly mode's,
	// creating missing parents; on an existing directory it sets the
	// permission bits.
	Mkdir func(path string, mode fs.FileMode) error
	// Symlink creates a symlink at path pointing at target, creating missing
	// parents.
	Symlink func(target, path string) error
	// RemoveAll removes path and everything beneath it; an absent path is
	// not an error.
	RemoveAll func(path string) error
	// ReadFile returns a file's content; it is an error when path is absent
	// or not a file. It reads reserved names too (conflict copies).
	ReadFile func(path string) ([]byte, error)
	// Lstat describes path without following a symlink, with the digest
	// filled in for a file; it returns nil, nil when path is absent.
	Lstat func(path string) (*zerosync.Entry, error)

	// Archived, when set, returns every content the endpoint archived for
	// path (replaced, removed, or kept beside it as a conflict copy), in any
	// order. When it is nil the suite checks that archiving applies succeed
	// but cannot look at what was kept.
	Archived func(path string) ([][]byte, error)
	// HideRoot, when set, makes the root vanish as an unmounted disk does;
	// restore brings it back with its content intact. When it is nil the
	// missing-root checks are left out.
	HideRoot func() (restore func() error, err error)
}

// Run runs the conformance suite against endpoints built by newHarness,
// which is called once per subtest and must return a fresh, empty tree.
// Subtests are named group/case ("scan/reserved-names",
// "apply/precondition/content-changed", ...), so a caller running
// t.Run("kind=local", ...) gets names like
// "kind=local/apply/precondition/content-changed".
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"scan", scanCases},
		{"open", openCases},
		{"apply", applyCases},
		{"apply/precondition", preconditionCases},
		{"apply/lying-content", lyingCases},
		{"paths", pathCases},
		{"confinement", confinementCases},
		{"archive", archiveCases},
		{"versions", versionCases},
		{"copy", copyCases},
		{"concurrency", concurrencyCases},
		{"context", contextCases},
		{"root", rootCases},
		{"scanpaths", scanPathsCases},
		{"conflicts", conflictStoreCases},
		{"batch", batchCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					h := newHarness(t)
					if h.Endpoint == nil {
						t.Fatal("harness has no endpoint")
					}
					c.run(&env{t: t, h: h, ep: h.Endpoint, ctx: t.Context()})
				})
			}
		})
	}
}

type testCase struct {
	name string
	run  func(e *env)
}

// env is one subtest's view of a harness, with helpers that fail the test
// on unexpected errors.
type env struct {
	t   *testing.T
	h   Harness
	ep  zerosync.Endpoint
	ctx context.Context
}

// modTime is the modification time the suite asks Apply to set.
var modTime = time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.UTC)

func fileEntry(data []byte, mode fs.FileMode) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: int64(len(data)), Digest: digest.Sum(data), ModTime: modTime}
}

func dirEntry(mode fs.FileMode) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindDir, Mode: mode, ModTime: modTime}
}

func linkEntry(target string) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindSymlink, Target: target, ModTime: modTime}
}

func (e *env) write(p string, data []byte, mode fs.FileMode) {
	e.t.Helper()
	if err := e.h.WriteFile(p, data, mode); err != nil {
		e.t.Fatalf("harness WriteFile %q: %v", p, err)
	}
}

func (e *env) mkdir(p string, mode fs.FileMode) {
	e.t.Helper()
	if err := e.h.Mkdir(p, mode); err != nil {
		e.t.Fatalf("harness Mkdir %q: %v", p, err)
	}
}

func (e *env) symlink(target, p string) {
	e.t.Helper()
	if err := e.h.Symlink(target, p); err != nil {
		e.t.Fatalf("harness Symlink %q -> %q: %v", p, target, err)
	}
}

func (e *env) removeAll(p string) {
	e.t.Helper()
	if err := e.h.RemoveAll(p); err != nil {
		e.t.Fatalf("harness RemoveAll %q: %v", p, err)
	}
}

func (e *env) lstat(p string) *zerosync.Entry {
	e.t.Helper()
	got, err := e.h.Lstat(p)
	if err != nil {
		e.t.Fatalf("harness Lstat %q: %v", p, err)
	}
	return got
}

func (e *env) read(p string) []byte {
	e.t.Helper()
	b, err := e.h.ReadFile(p)
	if err != nil {
		e.t.Fatalf("harness ReadFile %q: %v", p, err)
	}
	return b
}

// scan scans the tree and checks what every scan must satisfy: a valid
// snapshot with no reserved name in it.
func (e *env) scan() zerosync.Snapshot {
	e.t.Helper()
	s, _, err := e.ep.Scan(e.ctx)
	if err != nil {
		e.t.Fatalf("Scan: %v", err)
	}
	if s == nil {
		e.t.Fatal("Scan returned a nil snapshot without an error")
	}
	if err := s.Validate(); err != nil {
		e.t.Fatalf("Scan returned an invalid snapshot: %v", err)
	}
	for p := range s {
		if zerosync.IsReserved(p) {
			e.t.Fatalf("Scan reported reserved path %q", p)
		}
	}
	return s
}

// apply calls Apply with data as content; nil data passes a nil reader.
func (e *env) apply(op zerosync.Op, data []byte) error {
	var r io.Reader
	if data != nil {
		r = bytes.NewReader(data)
	}
	return e.ep.Apply(e.ctx, op, r)
}

func (e *env) mustApply(op zerosync.Op, data []byte) {
	e.t.Helper()
	if err := e.apply(op, data); err != nil {
		e.t.Fatalf("Apply %v: %v", op, err)
	}
}

// expect checks that path holds want (nil: absent), comparing kind,
// permission bits, digest or target, and size.
func (e *env) expect(p string, want *zerosync.Entry) {
	e.t.Helper()
	got := e.lstat(p)
	if !got.Same(want) || (got != nil && want != nil && got.Size != want.Size) {
		e.t.Fatalf("%q holds %v, want %v", p, got, want)
	}
}

// expectContent checks that path is a file holding data.
func (e *env) expectContent(p string, data []byte) {
	e.t.Helper()
	if got := e.read(p); !bytes.Equal(got, data) {
		e.t.Fatalf("%q holds %q, want %q", p, clip(got), clip(data))
	}
}

// expectErr checks that err wraps target.
func (e *env) expectErr(what string, err, target error) {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("%s succeeded, want an error wrapping %v", what, target)
	}
	if !errors.Is(err, target) {
		e.t.Fatalf("%s: error %q does not wrap %v", what, err, target)
	}
}

// expectSameTree checks that two scans agree on every path (ModTime aside).
func (e *env) expectSameTree(before, after zerosync.Snapshot) {
	e.t.Helper()
	if d := diffTrees(before, after); d != "" {
		e.t.Fatalf("tree changed:\n%s", d)
	}
}

func diffTrees(a, b zerosync.Snapshot) string {
	var out []string
	for p, ea := range a {
		eb, ok := b[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("- %s (%v)", p, &ea))
		case !ea.Same(&eb) || ea.Size != eb.Size:
			out = append(out, fmt.Sprintf("~ %s (%v -> %v)", p, &ea, &eb))
		}
	}
	for p, eb := range b {
		if _, ok := a[p]; !ok {
			out = append(out, fmt.Sprintf("+ %s (%v)", p, &eb))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func newReader(b []byte) io.Reader { return bytes.NewReader(b) }

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// pattern returns n deterministic bytes that differ with seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
