//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
)

func TestApplyBatch(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "d/old"), []byte("old"), 0o644)
	writeFile(t, filepath.Join(root, "d/moved"), []byte("was"), 0o644)
	writeFile(t, filepath.Join(root, "gone"), []byte("bye"), 0o644)
	ops := []zerosync.BatchOp{
		{Op: zerosync.Op{Path: "a", New: fileEntry([]byte("a"), 0o640)}, Content: newBytesReader([]byte("a"))},
		{Op: zerosync.Op{Path: "d/old", Old: fileEntry([]byte("old"), 0o644), New: fileEntry([]byte("new"), 0o600), Archive: true}, Content: newBytesReader([]byte("new"))},
		{Op: zerosync.Op{Path: "d/link", New: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "old"}}},
		// Changed since the scan: nothing written.
		{Op: zerosync.Op{Path: "d/moved", Old: fileEntry([]byte("other"), 0o644), New: fileEntry([]byte("x"), 0o644)}, Content: newBytesReader([]byte("x"))},
		// Lying content.
		{Op: zerosync.Op{Path: "d/liar", New: fileEntry([]byte("told"), 0o644)}, Content: newBytesReader([]byte("sent"))},
		// Not batchable: applied on its own.
		{Op: zerosync.Op{Path: "gone", Old: fileEntry([]byte("bye"), 0o644)}},
		{Op: zerosync.Op{Path: "newdir", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}}},
		// Invalid path.
		{Op: zerosync.Op{Path: "../escape", New: fileEntry([]byte("e"), 0o644)}, Content: newBytesReader([]byte("e"))},
	}
	errs := e.ApplyBatch(t.Context(), ops)
	require.Len(t, errs, len(ops))
	for _, i := range []int{0, 1, 2, 5, 6} {
		assert.NoError(t, errs[i], "op %d", i)
	}
	assert.ErrorIs(t, errs[3], zerosync.ErrChanged)
	assert.ErrorIs(t, errs[4], zerosync.ErrDigestMismatch)
	assert.ErrorIs(t, errs[7], zerosync.ErrInvalidPath)
	var pe *zerosync.PathError
	require.ErrorAs(t, errs[3], &pe)
	assert.Equal(t, "d/moved", pe.Path)

	expectBytes(t, filepath.Join(root, "a"), []byte("a"))
	expectBytes(t, filepath.Join(root, "d/old"), []byte("new"))
	expectBytes(t, filepath.Join(root, "d/moved"), []byte("was"))
	fi, err := os.Lstat(filepath.Join(root, "a"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o640), fi.Mode().Perm())
	target, err := os.Readlink(filepath.Join(root, "d/link"))
	require.NoError(t, err)
	assert.Equal(t, "old", target)
	assert.NoFileExists(t, filepath.Join(root, "d/liar"))
	assert.NoFileExists(t, filepath.Join(root, "gone"))
	assert.DirExists(t, filepath.Join(root, "newdir"))
	assert.Empty(t, tempFiles(t, root))
	kept, err := archived(filepath.Join(root, defaultArchive), "d/old")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("old")}, kept)

	s, _, err := e.Scan(t.Context())
	require.NoError(t, err)
	assert.Equal(t, fileEntry([]byte("new"), 0o600).Digest, s["d/old"].Digest)
}

// New folders in a batch are made together, their parents synced once,
// each checked as Apply checks it.
func TestApplyBatchFolders(t *testing.T) {
	e, root := newEndpoint(t)
	require.NoError(t, os.Mkdir(filepath.Join(root, "top"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(root, "there"), 0o755))
	writeFile(t, filepath.Join(root, "file"), []byte("f"), 0o644)
	dir := func(p string, mode fs.FileMode) zerosync.BatchOp {
		return zerosync.BatchOp{Op: zerosync.Op{Path: p, New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: mode}}}
	}
	var ops []zerosync.BatchOp
	for i := range 70 {
		ops = append(ops, dir(fmt.Sprintf("top/d%02d", i), 0o750))
	}
	ops = append(ops,
		dir("there", 0o755),         // appeared since the scan
		dir("missing/child", 0o755), // no parent
		dir("file/child", 0o755),    // the parent is a file
		dir("private", 0o700),
		zerosync.BatchOp{Op: zerosync.Op{Path: "top/f", New: fileEntry([]byte("x"), 0o644)}, Content: newBytesReader([]byte("x"))},
	)
	errs := e.ApplyBatch(t.Context(), ops)
	require.Len(t, errs, len(ops))
	for i := range 70 {
		require.NoError(t, errs[i], ops[i].Path)
		fi, err := os.Lstat(filepath.Join(root, "top", fmt.Sprintf("d%02d", i)))
		require.NoError(t, err)
		assert.True(t, fi.IsDir())
		assert.Equal(t, fs.FileMode(0o750), fi.Mode().Perm())
	}
	for _, i := range []int{70, 71, 72} {
		assert.ErrorIs(t, errs[i], zerosync.ErrChanged, ops[i].Path)
	}
	require.NoError(t, errs[73])
	require.NoError(t, errs[74])
	fi, err := os.Lstat(filepath.Join(root, "private"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
	assert.NoDirExists(t, filepath.Join(root, "missing"))
	expectBytes(t, filepath.Join(root, "top/f"), []byte("x"))

	s, _, err := e.Scan(t.Context())
	require.NoError(t, err)
	assert.Equal(t, zerosync.KindDir, s["top/d42"].Kind)
	assert.Equal(t, fs.FileMode(0o750), s["top/d42"].Mode)
}

// cancelling is content whose first read cancels the batch's context.
type cancelling struct{ cancel context.CancelFunc }

func (c cancelling) Read([]byte) (int, error) {
	c.cancel()
	return 0, context.Canceled
}

// New folders made before the files of their batch failed are still
// synced and reported made.
func TestApplyBatchFoldersWhenFilesFail(t *testing.T) {
	e, root := newEndpoint(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ops := []zerosync.BatchOp{
		{Op: zerosync.Op{Path: "one", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}}},
		{Op: zerosync.Op{Path: "two", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}}},
		{Op: zerosync.Op{Path: "f", New: fileEntry([]byte("x"), 0o644)}, Content: cancelling{cancel}},
		{Op: zerosync.Op{Path: "g", New: fileEntry([]byte("y"), 0o644)}, Content: newBytesReader([]byte("y"))},
	}
	errs := e.ApplyBatch(ctx, ops)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Error(t, errs[2])
	assert.ErrorIs(t, errs[3], context.Canceled)
	assert.DirExists(t, filepath.Join(root, "one"))
	assert.DirExists(t, filepath.Join(root, "two"))
	assert.NoFileExists(t, filepath.Join(root, "f"))
	assert.NoFileExists(t, filepath.Join(root, "g"))
	assert.Empty(t, tempFiles(t, root))
}

func TestApplyBatchLarge(t *testing.T) {
	// More ops than one piece holds, and more files than syncfs needs.
	e, root := newEndpoint(t)
	n := batchOpen + 10
	ops := make([]zerosync.BatchOp, n)
	for i := range ops {
		data := []byte(strconv.Itoa(i))
		ops[i] = zerosync.BatchOp{Op: zerosync.Op{Path: fmt.Sprintf("d%d/f%d", i%3, i), New: fileEntry(data, 0o644)}, Content: newBytesReader(data)}
	}
	for d := range 3 {
		must(t, os.Mkdir(filepath.Join(root, fmt.Sprintf("d%d", d)), 0o755))
	}
	for i, err := range e.ApplyBatch(t.Context(), ops) {
		require.NoError(t, err, "op %d", i)
	}
	for i := range ops {
		expectBytes(t, filepath.Join(root, ops[i].Path), []byte(strconv.Itoa(i)))
	}
	assert.Empty(t, tempFiles(t, root))
}

func TestApplyBatchCancelled(t *testing.T) {
	e, root := newEndpoint(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := e.ApplyBatch(ctx, []zerosync.BatchOp{{Op: zerosync.Op{Path: "a", New: fileEntry([]byte("a"), 0o644)}, Content: newBytesReader([]byte("a"))}})
	assert.ErrorIs(t, errs[0], context.Canceled)
	assert.NoFileExists(t, filepath.Join(root, "a"))
}

// Crash test: a child process applies a batch and kills itself with
// SIGKILL at a step chosen by the parent (after a content read, a temp
// file written, the sync, a rename, a directory sync). The parent then
// checks that every path holds its old entry or its new one, never a torn
// or a temp file, and that the next scan leaves no temp file behind.

const (
	crashRootEnv = "ZEROSYNC_TEST_BATCH_CRASH_ROOT"
	crashStepEnv = "ZEROSYNC_TEST_BATCH_CRASH_STEP"
	crashFiles   = 48
)

func TestMain(m *testing.M) {
	if root := os.Getenv(crashRootEnv); root != "" {
		os.Exit(crashChild(root, os.Getenv(crashStepEnv)))
	}
	os.Exit(m.Run())
}

// crashVersion is path i's content, old or new: sizes from 0 to a few
// chunks of a read buffer, so some files are cut mid-write.
func crashVersion(i int, isNew bool) []byte {
	seed := byte(i)
	n := (i * 7919) % (3 << 16)
	if isNew {
		seed += 101
		n = (i * 104729) % (3 << 16)
	}
	b := make([]byte, n)
	for j := range b {
		b[j] = seed + byte(j*31)
	}
	return b
}

// crashPath is the path of op i: in a few directories; one in three is
// created by the batch, the others replaced (a symlink every ninth).
func crashPath(i int) string { return fmt.Sprintf("d%d/f%d", i%4, i) }

func crashIsLink(i int) bool  { return i%9 == 4 }
func crashCreated(i int) bool { return i%3 == 0 }
func crashTarget(i int, isNew bool) string {
	if isNew {
		return fmt.Sprintf("new-%d", i)
	}
	return fmt.Sprintf("old-%d", i)
}

// crashOps is the batch the child applies.
func crashOps() []zerosync.BatchOp {
	ops := make([]zerosync.BatchOp, crashFiles)
	for i := range ops {
		op := zerosync.Op{Path: crashPath(i), Archive: i%2 == 1}
		if crashIsLink(i) {
			op.New = &zerosync.Entry{Kind: zerosync.KindSymlink, Target: crashTarget(i, true)}
			if !crashCreated(i) {
				op.Old = &zerosync.Entry{Kind: zerosync.KindSymlink, Target: crashTarget(i, false)}
			}
			ops[i] = zerosync.BatchOp{Op: op}
			continue
		}
		op.New = fileEntry(crashVersion(i, true), 0o600)
		if !crashCreated(i) {
			op.Old = fileEntry(crashVersion(i, false), 0o644)
		}
		ops[i] = zerosync.BatchOp{Op: op, Content: bytes.NewReader(crashVersion(i, true))}
	}
	return ops
}

// stepReader calls step before each read.
type stepReader struct {
	r    io.Reader
	step func()
}

func (s *stepReader) Read(p []byte) (int, error) {
	s.step()
	return s.r.Read(p[:min(len(p), 16<<10)])
}

// crashChild applies the batch and dies at step kill; it returns 0 when
// the batch had fewer steps, 2 when the batch failed.
func crashChild(root, kill string) int {
	k, err := strconv.Atoi(kill)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad step:", err)
		return 2
	}
	e, err := New(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	steps := 0
	step := func() {
		if steps++; steps == k {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	e.onBatchStep = func(string) { step() }
	ops := crashOps()
	for i := range ops {
		if ops[i].Content != nil {
			ops[i].Content = &stepReader{r: ops[i].Content, step: step}
		}
	}
	for i, err := range e.ApplyBatch(context.Background(), ops) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "op %d: %v\n", i, err)
			return 2
		}
	}
	fmt.Fprintf(os.Stdout, "steps %d\n", steps)
	return 0
}

// crashTree writes the tree as it is before the batch.
func crashTree(t *testing.T, root string) {
	for i := range crashFiles {
		p := filepath.Join(root, filepath.FromSlash(crashPath(i)))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if crashCreated(i) {
			continue
		}
		if crashIsLink(i) {
			must(t, os.Symlink(crashTarget(i, false), p))
			continue
		}
		writeFile(t, p, crashVersion(i, false), 0o644)
	}
}

// crashCheck checks that every path holds its old or its new entry, and
// returns how many hold the new one.
func crashCheck(t *testing.T, root string, step int) int {
	t.Helper()
	news := 0
	for i := range crashFiles {
		p := filepath.Join(root, filepath.FromSlash(crashPath(i)))
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			require.True(t, crashCreated(i), "step %d: %s is gone", step, crashPath(i))
			continue
		}
		require.NoError(t, err)
		if crashIsLink(i) {
			got, err := os.Readlink(p)
			require.NoError(t, err)
			switch got {
			case crashTarget(i, true):
				news++
			case crashTarget(i, false):
				require.False(t, crashCreated(i))
			default:
				t.Fatalf("step %d: %s points to %q, neither old nor new", step, crashPath(i), got)
			}
			continue
		}
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		switch {
		case bytes.Equal(got, crashVersion(i, true)):
			require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "step %d: %s has the new content with another mode", step, crashPath(i))
			news++
		case !crashCreated(i) && bytes.Equal(got, crashVersion(i, false)):
			require.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())
		default:
			t.Fatalf("step %d: %s holds %d bytes, neither old nor new", step, crashPath(i), len(got))
		}
	}
	return news
}

func TestApplyBatchCrash(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	run := func(root string, step int) (string, bool) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashRootEnv+"="+root, crashStepEnv+"="+strconv.Itoa(step))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				return "", true
			}
		}
		require.NoError(t, err, "child: %s", errb.String())
		return out.String(), false
	}
	// A run without a kill counts the steps.
	root := newRoot(t)
	crashTree(t, root)
	out, killed := run(root, 0)
	require.False(t, killed)
	var total int
	_, err = fmt.Sscanf(out, "steps %d", &total)
	require.NoError(t, err, "child said %q", out)
	require.Equal(t, crashFiles, crashCheck(t, root, 0))

	// Kill points: the first and last few steps, and random ones between.
	points := []int{1, 2, total - 1, total}
	r := rand.New(rand.NewPCG(uint64(total), 7))
	for range 20 {
		points = append(points, 1+r.IntN(total))
	}
	for _, k := range points {
		root := newRoot(t)
		crashTree(t, root)
		_, killed := run(root, k)
		require.True(t, killed, "the child was not killed at step %d of %d", k, total)
		crashCheck(t, root, k)
		// The next open and scan finish the job: no temp file is left,
		// and the scan agrees with the files.
		e, err := New(root)
		require.NoError(t, err)
		s, _, err := e.Scan(t.Context())
		require.NoError(t, err)
		require.NoError(t, e.Close())
		assert.Empty(t, tempFiles(t, root), "step %d", k)
		for p := range s {
			require.False(t, zerosync.IsReserved(p), "step %d: the scan shows %q", k, p)
		}
		// Applying the batch again, as the next cycle would for what is
		// still old, completes it.
		e2, err := New(root)
		require.NoError(t, err)
		var again []zerosync.BatchOp
		for i, bo := range crashOps() {
			if got := s.Get(crashPath(i)); got.Same(bo.New) {
				continue
			}
			again = append(again, bo)
		}
		for i, err := range e2.ApplyBatch(t.Context(), again) {
			require.NoError(t, err, "step %d: %s", k, again[i].Path)
		}
		require.NoError(t, e2.Close())
		require.Equal(t, crashFiles, crashCheck(t, root, k), "step %d", k)
	}
}

// TestApplyBatchArchivesInOneFolder: the files a small batch replaces are
// archived together, in one version folder (not one each), and each
// version is listed and read back on its own.
func TestApplyBatchArchivesInOneFolder(t *testing.T) {
	e, root := newEndpoint(t)
	var ops []zerosync.BatchOp
	for i := range 10 {
		p := fmt.Sprintf("d%d/sub/f%d.txt", i%3, i)
		old, next := fmt.Appendf(nil, "old %d", i), fmt.Appendf(nil, "new %d", i)
		writeFile(t, filepath.Join(root, filepath.FromSlash(p)), old, 0o644)
		ops = append(ops, zerosync.BatchOp{Op: zerosync.Op{Path: p, Old: fileEntry(old, 0o644), New: fileEntry(next, 0o644), Archive: true},
			Content: newBytesReader(next)})
	}
	for i, err := range e.ApplyBatch(t.Context(), ops) {
		require.NoError(t, err, "op %d", i)
	}
	folders, err := os.ReadDir(filepath.Join(root, defaultArchive))
	require.NoError(t, err)
	require.Len(t, folders, 1, "one version folder for the batch")
	for i, bo := range ops {
		vs, err := e.Versions(t.Context(), bo.Op.Path)
		require.NoError(t, err)
		require.Len(t, vs, 1, bo.Op.Path)
		assert.Equal(t, zerosync.ReasonReplaced, vs[0].Reason)
		rc, err := e.OpenVersion(t.Context(), vs[0].ID)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("old %d", i), string(got))
		expectBytes(t, filepath.Join(root, filepath.FromSlash(bo.Op.Path)), fmt.Appendf(nil, "new %d", i))
	}
}
