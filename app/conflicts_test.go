package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// conflicted returns an engine whose notes.txt is in conflict: ours kept in
// the tree on both sides, theirs kept aside.
func conflicted(t *testing.T) (*engine.Engine, *memory.Endpoint, *memory.Endpoint) {
	t.Helper()
	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: a}, []engine.Peer{{Name: "server", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, a.WriteFile("notes.txt", []byte("one\ntwo\nthree\n"), 0o644))
	_, err = e.SyncOnce(ctx)
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("notes.txt", []byte("one\nTWO (laptop)\nthree\n"), 0o644))
	require.NoError(t, b.WriteFile("notes.txt", []byte("one\nTWO (server)\nthree\n"), 0o644))
	rep, err := e.SyncOnce(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Conflicts, 1)
	return e, a, b
}

func run(t *testing.T, e *engine.Engine, in string, interactive bool, args ...string) (string, error) {
	var out bytes.Buffer
	err := Conflicts(context.Background(), e, args, Streams{In: strings.NewReader(in), Out: &out, Err: &out, Interactive: interactive})
	return out.String(), err
}

func TestConflictsListShow(t *testing.T) {
	e, _, _ := conflicted(t)
	out, err := run(t, e, "", false, "list")
	require.NoError(t, err)
	assert.Contains(t, out, "server#1")
	assert.Contains(t, out, "notes.txt")

	out, err = run(t, e, "", false, "show", "1")
	require.NoError(t, err)
	assert.Contains(t, out, "-two")
	assert.Contains(t, out, "+TWO (laptop)")
	assert.Contains(t, out, "+TWO (server)")
	assert.Contains(t, out, "kept aside: server's version")
}

func TestConflictsApplyTheirs(t *testing.T) {
	e, a, b := conflicted(t)
	_, err := run(t, e, "", false, "apply", "--theirs", "server#1")
	require.ErrorContains(t, err, "--non-interactive", "no terminal and no --non-interactive")

	out, err := run(t, e, "", false, "apply", "--theirs", "--non-interactive", "server#1")
	require.NoError(t, err, out)
	for _, ep := range []*memory.Endpoint{a, b} {
		got, err := ep.ReadFile("notes.txt")
		require.NoError(t, err)
		assert.Equal(t, "one\nTWO (server)\nthree\n", string(got))
	}
	for p := range a.Contents() {
		assert.NotContains(t, p, ".zs-conflict-")
	}
	out, err = run(t, e, "", false, "list")
	require.NoError(t, err)
	assert.Contains(t, out, "no conflicts")
	// The laptop's version is not lost: it was archived when replaced.
	var archived []string
	for _, x := range a.Archive() {
		archived = append(archived, string(x.Data))
	}
	assert.Contains(t, archived, "one\nTWO (laptop)\nthree\n")
}

func TestConflictsApplyMergedInteractive(t *testing.T) {
	e, a, b := conflicted(t)
	merged := filepath.Join(t.TempDir(), "merged")
	require.NoError(t, os.WriteFile(merged, []byte("one\nTWO (both)\nthree\n"), 0o644))

	out, err := run(t, e, "n\n", true, "apply", "--merged", merged, "1")
	require.NoError(t, err)
	assert.Contains(t, out, "skipped")

	out, err = run(t, e, "y\n", true, "apply", "--merged", merged, "1")
	require.NoError(t, err, out)
	got, _ := b.ReadFile("notes.txt")
	assert.Equal(t, "one\nTWO (both)\nthree\n", string(got))
	got, _ = a.ReadFile("notes.txt")
	assert.Equal(t, "one\nTWO (both)\nthree\n", string(got))
}

func TestConflictsApplyOursAndForce(t *testing.T) {
	e, a, b := conflicted(t)
	// The file moved on since the conflict was queued.
	require.NoError(t, a.WriteFile("notes.txt", []byte("edited later\n"), 0o644))
	_, err := run(t, e, "", false, "apply", "--theirs", "--non-interactive", "1")
	require.ErrorIs(t, err, engine.ErrReviewChanged)
	_, err = run(t, e, "", false, "apply", "--theirs", "--non-interactive", "--force", "1")
	require.NoError(t, err)
	got, _ := b.ReadFile("notes.txt")
	assert.Equal(t, "one\nTWO (server)\nthree\n", string(got))

	e, a, b = conflicted(t)
	_, err = run(t, e, "", false, "apply", "--ours", "--non-interactive", "1")
	require.NoError(t, err)
	got, _ = b.ReadFile("notes.txt")
	assert.Equal(t, "one\nTWO (laptop)\nthree\n", string(got))
	assert.Len(t, a.Contents(), 1, "the conflict copy is gone")
}

func TestConflictsUsage(t *testing.T) {
	e, _, _ := conflicted(t)
	for _, args := range [][]string{{}, {"bogus"}, {"show"}, {"apply", "1"}, {"apply", "--ours", "--theirs", "1"}, {"apply", "--ours", "--non-interactive", "x#y"}} {
		_, err := run(t, e, "", false, args...)
		assert.Error(t, err, "%v", args)
	}
}
