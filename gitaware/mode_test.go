package gitaware_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/gitaware"
)

func TestParseMode(t *testing.T) {
	for _, m := range []gitaware.Mode{gitaware.ModeGitOnly, gitaware.ModeUntracked, gitaware.ModeAll} {
		got, err := gitaware.ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := gitaware.ParseMode("everything")
	assert.Error(t, err)
	_, err = gitaware.New(gitaware.WithMode(0))
	assert.Error(t, err)
	p := project(t)
	assert.Error(t, p.SetMode(9))
	assert.Equal(t, gitaware.ModeGitOnly, p.Mode(), "the default")
}

// TestSetModeSwitchesEveryEngine: three engines of one project, two sharing
// a Project and one using its own Project over the same state directory (as
// another process would), all follow one SetMode call, and the status shows
// the mode.
func TestSetModeSwitchesEveryEngine(t *testing.T) {
	tmp := t.TempDir()
	origin := filepath.Join(tmp, "origin")
	cliRepo(t, origin, map[string]string{"f.txt": "v1\n"})
	state := filepath.Join(tmp, "state")
	p1, err := gitaware.New(gitaware.WithStateDir(state), gitaware.WithExcludesFile(""))
	require.NoError(t, err)
	p2, err := gitaware.New(gitaware.WithStateDir(state), gitaware.WithExcludesFile(""), gitaware.WithMode(gitaware.ModeAll))
	require.NoError(t, err)
	assert.Equal(t, gitaware.ModeAll, p2.Mode(), "no mode stored yet: each starts with its own")

	var pairs []*pair
	for i, p := range []*gitaware.Project{p1, p1, p1} {
		if i == 2 {
			p = p2
		}
		a, b := filepath.Join(tmp, "a"+string(rune('1'+i))), filepath.Join(tmp, "b"+string(rune('1'+i)))
		cliClone(t, origin, a)
		cliClone(t, origin, b)
		pairs = append(pairs, newPair(t, p, a, b))
	}
	require.NoError(t, p1.SetMode(gitaware.ModeGitOnly))
	for _, pr := range pairs {
		write(t, pr.a, "untracked.txt", "from "+pr.names[0]+"\n")
		write(t, pr.a, "f.txt", "v2 from "+pr.names[0]+"\n")
		pr.sync(t)
		assert.False(t, exists(pr.b, "untracked.txt"), "git-only")
		assert.Equal(t, "v2 from "+pr.names[0]+"\n", read(pr.b, "f.txt"))
	}

	require.NoError(t, p1.SetMode(gitaware.ModeUntracked))
	assert.Equal(t, gitaware.ModeUntracked, p1.Mode())
	assert.Equal(t, gitaware.ModeUntracked, p2.Mode())
	assert.Equal(t, gitaware.ModeUntracked, p1.Status().Mode)
	assert.Equal(t, gitaware.ModeUntracked, p2.Status().Mode)
	b, err := os.ReadFile(filepath.Join(state, "mode"))
	require.NoError(t, err)
	assert.Equal(t, "untracked\n", string(b))
	for _, pr := range pairs {
		write(t, pr.a, "f.txt", "v3 from "+pr.names[0]+"\n")
		pr.sync(t)
		assert.Equal(t, "from "+pr.names[0]+"\n", read(pr.b, "untracked.txt"), "untracked mode reached %s", pr.names[0])
		assert.Equal(t, "v2 from "+pr.names[0]+"\n", read(pr.b, "f.txt"), "tracked files stay in untracked mode")
	}

	// Switched back from the other Project.
	require.NoError(t, p2.SetMode(gitaware.ModeGitOnly))
	assert.Equal(t, gitaware.ModeGitOnly, p1.Status().Mode)
	for _, pr := range pairs {
		pr.sync(t)
		assert.Equal(t, "v3 from "+pr.names[0]+"\n", read(pr.b, "f.txt"))
	}

	// A new Project over the state directory starts in the stored mode.
	p3, err := gitaware.New(gitaware.WithStateDir(state), gitaware.WithMode(gitaware.ModeAll))
	require.NoError(t, err)
	assert.Equal(t, gitaware.ModeGitOnly, p3.Mode())
}

// TestConcurrentEngines: engines sharing a project sync at the same time as
// the mode switches and the status is read (run with -race).
func TestConcurrentEngines(t *testing.T) {
	tmp := t.TempDir()
	origin := filepath.Join(tmp, "origin")
	cliRepo(t, origin, map[string]string{"f.txt": "v1\n"})
	p := project(t, gitaware.WithMode(gitaware.ModeAll))
	var pairs []*pair
	for i := range 3 {
		a, b := filepath.Join(tmp, "a"+string(rune('1'+i))), filepath.Join(tmp, "b"+string(rune('1'+i)))
		cliClone(t, origin, a)
		cliClone(t, origin, b)
		write(t, a, "notes.txt", "notes\n")
		pairs = append(pairs, newPair(t, p, a, b))
	}
	done := make(chan error, len(pairs))
	for _, pr := range pairs {
		go func() {
			for range 5 {
				if _, err := pr.e.SyncOnce(t.Context()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := range 10 {
		require.NoError(t, p.SetMode([]gitaware.Mode{gitaware.ModeAll, gitaware.ModeGitOnly}[i%2]))
		_ = p.Status().String()
	}
	require.NoError(t, p.SetMode(gitaware.ModeAll))
	for range pairs {
		require.NoError(t, <-done)
	}
	for _, pr := range pairs {
		pr.sync(t)
		assert.Equal(t, "notes\n", read(pr.b, "notes.txt"))
	}
	assert.Len(t, p.Status().Repos, 3)
}

func TestOptions(t *testing.T) {
	for _, o := range []gitaware.Option{
		gitaware.WithStateDir(""), gitaware.WithLogger(nil), gitaware.WithIgnore(""), gitaware.WithIgnore("a\nb"),
		gitaware.WithIgnore("# comment"), gitaware.WithWalkLimit(0), gitaware.WithBaseLimit(0), gitaware.WithMode(gitaware.ModeAll + 1),
	} {
		_, err := gitaware.New(o)
		assert.Error(t, err)
	}
	dir := t.TempDir()
	write(t, dir, "mode", "sideways\n")
	_, err := gitaware.New(gitaware.WithStateDir(dir))
	assert.Error(t, err, "a damaged mode file is an error at start")
}
