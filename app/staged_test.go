package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
)

// TestStagedCommandLine: through the command line, each command a new
// engine on the same state file: a change of a --staged peer waits, is
// listed, shown as a diff, applied; another is rejected, and the peer gets
// this host's version. Names are printed escaped.
func TestStagedCommandLine(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Mkdir(peer, 0o755))
	write := func(dir, p, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644))
	}
	read := func(dir, p string) string {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return "<absent>"
		}
		return string(b)
	}
	a := &App{Name: "test"}
	cmd := func(args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		all := append([]string{"--root", root, "--peer", "p=" + peer, "--staged", "p", "--state", filepath.Join(tmp, "state", "test.db")}, args...)
		err := a.Run(context.Background(), all, Streams{In: strings.NewReader(""), Out: &out, Err: &out})
		for _, r := range out.String() {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
				t.Errorf("%v printed the control character %U:\n%q", args, r, out.String())
				break
			}
		}
		return out.String(), err
	}
	ok := func(args ...string) string {
		t.Helper()
		out, err := cmd(args...)
		require.NoError(t, err, out)
		return out
	}

	write(root, "f", "one\ntwo\n")
	write(root, "keep", "k")
	ok("once")
	require.Equal(t, "one\ntwo\n", read(peer, "f"))

	write(peer, "f", "one\nTWO\n")
	evil := "evil\x1b[2J\nname"
	write(peer, evil, "x")
	write(root, "mine", "ours")
	ok("once")
	assert.Equal(t, "one\ntwo\n", read(root, "f"), "held")
	assert.Equal(t, "<absent>", read(root, evil))
	assert.Equal(t, "ours", read(peer, "mine"), "this host's changes flow")

	out := ok("staged", "list")
	assert.Contains(t, out, `"evil\x1b[2J\nname"`)
	ids := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\d+)\s+p\s+(\S+)`).FindAllStringSubmatch(out, -1) {
		ids[m[2]] = m[1]
	}
	require.Contains(t, ids, "f", out)
	require.Contains(t, ids, `"evil\x1b[2J\nname"`, out)
	assert.Regexp(t, `test staged apply \d+`, out, "advice names a command")

	out = ok("staged", "show", ids["f"])
	assert.Contains(t, out, "-two\n")
	assert.Contains(t, out, "+TWO\n")
	assert.Contains(t, out, "modified on theirs")

	out = ok("staged", "reject", ids[`"evil\x1b[2J\nname"`])
	assert.Contains(t, out, "rejected")
	assert.Equal(t, "<absent>", read(peer, evil), "the rejected creation is removed from the peer")
	out = ok("staged", "apply")
	assert.Contains(t, out, "synced")
	assert.Equal(t, "one\nTWO\n", read(root, "f"))
	assert.Contains(t, ok("staged", "list"), "no changes staged")

	_, err := cmd("staged", "show", ids["f"])
	assert.ErrorIs(t, err, engine.ErrNotStaged)
	_, err = cmd("staged", "apply", "x")
	assert.ErrorContains(t, err, "bad staged change ID")
	_, err = cmd("staged", "reject")
	assert.ErrorContains(t, err, "want IDs")
	out, err = cmd("staged", "frob")
	assert.ErrorContains(t, err, "unknown subcommand")
	assert.Contains(t, out, "usage: staged list")
	err = a.Run(context.Background(), []string{"--root", root, "--peer", "p=" + peer, "--staged", "q", "--state", filepath.Join(tmp, "state", "test.db"), "once"}, Streams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	assert.ErrorContains(t, err, `staged peer "q"`)
}
