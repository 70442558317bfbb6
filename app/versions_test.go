package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

func versions(t *testing.T, e *engine.Engine, args ...string) (string, error) {
	var out bytes.Buffer
	err := Versions(context.Background(), e, "dots", args, Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), err
}

// replacedByPeer returns an engine whose name was synced, then replaced by
// the peer.
func replacedByPeer(t *testing.T, name string) (*engine.Engine, *memory.Endpoint, *memory.Endpoint) {
	t.Helper()
	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: a}, []engine.Peer{{Name: "server", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, a.WriteFile(name, []byte("first\n"), 0o644))
	require.NoError(t, a.WriteFile("other", []byte("x"), 0o644))
	_, err = e.SyncOnce(ctx)
	require.NoError(t, err)
	require.NoError(t, b.WriteFile(name, []byte("second\n"), 0o644))
	_, err = e.SyncOnce(ctx)
	require.NoError(t, err)
	return e, a, b
}

func TestVersionsListEscapesNames(t *testing.T) {
	name := "evil\x1b[31m\nname"
	e, _, _ := replacedByPeer(t, name)
	out, err := versions(t, e, "list")
	require.NoError(t, err)
	assert.NotContains(t, out, "\x1b", "no raw escape sequence")
	assert.Contains(t, out, `"evil\x1b[31m\nname"`)
	assert.Equal(t, 3, strings.Count(out, "\n"), "header, one version, the advice:\n%s", out)
	assert.Contains(t, out, `dots versions restore "evil\x1b[31m\nname" v1`)
}

func TestVersionsRestore(t *testing.T) {
	e, a, b := replacedByPeer(t, "my notes.txt")
	out, err := versions(t, e, "list", "my notes.txt")
	require.NoError(t, err)
	assert.Contains(t, out, "dots versions restore 'my notes.txt' v1")
	out, err = versions(t, e, "restore", "my notes.txt", "v1")
	require.NoError(t, err, out)
	assert.Contains(t, out, `restored "my notes.txt" from version v1`)
	for _, ep := range []*memory.Endpoint{a, b} {
		got, err := ep.ReadFile("my notes.txt")
		require.NoError(t, err)
		assert.Equal(t, "first\n", string(got))
	}
	_, err = versions(t, e, "restore", "my notes.txt", "v99")
	require.Error(t, err)
	assert.Contains(t, Advice("dots", err), "dots versions list 'my notes.txt'")
	_, err = versions(t, e, "restore", "other", "v1")
	require.Error(t, err, "v1 is a version of another file")
	out, err = versions(t, e, "list", "never")
	require.NoError(t, err)
	assert.Contains(t, out, `no versions of "never" are kept`)
}

func TestVersionsUsage(t *testing.T) {
	e, _, _ := replacedByPeer(t, "f")
	for _, args := range [][]string{{}, {"bogus"}, {"list", "a", "b"}, {"restore", "f"}, {"restore", "f", "v1", "x"}, {"list", "../x"}, {"restore", "f", "../../x"}} {
		_, err := versions(t, e, args...)
		assert.Error(t, err, "%v", args)
	}
}

func TestTypeable(t *testing.T) {
	for in, want := range map[string]string{
		".bashrc":      ".bashrc",
		"bin/run.sh":   "bin/run.sh",
		"my notes.txt": "'my notes.txt'",
		"it's":         `'it'\''s'`,
		"$HOME":        "'$HOME'",
		"-rf":          "'-rf'",
		"a\nb":         `"a\nb"`,
		"\x1b[31m":     `"\x1b[31m"`,
		"caf\xe9":      `"caf\xe9"`,
		"café":         "'café'",
		"":             "''",
	} {
		assert.Equal(t, want, typeable(in), "%q", in)
	}
}
