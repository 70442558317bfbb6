package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decode parses the one JSON object s holds into a generic map, failing
// on anything after it.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var v map[string]any
	require.NoError(t, dec.Decode(&v), s)
	require.False(t, dec.More(), "more than one object:\n%s", s)
	return v
}

// keys returns the field names of the object v.
func keys(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "%v is not an object", v)
	return sortedKeys(m)
}

// TestJSONOutputs: plan, once, status and conflicts list print one JSON
// object on standard output with the documented field names, the log
// staying on standard error.
func TestJSONOutputs(t *testing.T) {
	root, peer, globals := trees(t)
	a := &App{Name: "test"}
	run := func(args ...string) (map[string]any, error) {
		t.Helper()
		out, _, err := cli(a, append(append([]string{}, globals...), args...)...)
		return decode(t, out), err
	}

	plan, err := run("plan", "--json")
	require.NoError(t, err)
	assert.Equal(t, []string{"peers"}, keys(t, plan))
	peers := plan["peers"].([]any)
	require.Len(t, peers, 1)
	assert.Equal(t, []string{"changes", "conflicts", "peer", "problems"}, keys(t, peers[0]))
	change := peers[0].(map[string]any)["changes"].([]any)[0]
	assert.Equal(t, map[string]any{"op": "create", "path": "notes.txt", "on": "server", "kind": "file", "size": 14.0, "reason": "created on ours"}, change)

	once, err := run("--json", "once")
	require.NoError(t, err)
	assert.Equal(t, []string{"applied", "bytes", "conflicts", "conflicts_waiting", "end", "problems", "start"}, keys(t, once))
	assert.Equal(t, change, once["applied"].([]any)[0])
	assert.Equal(t, 14.0, once["bytes"])

	// A conflict, kept both ways.
	require.NoError(t, os.WriteFile(filepath.Join(root, "notes.txt"), []byte("one\nTWO here\nthree\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(peer, "notes.txt"), []byte("one\nTWO there\nthree\n"), 0o644))
	plan, err = run("plan", "--json")
	require.NoError(t, err)
	conflict := plan["peers"].([]any)[0].(map[string]any)["conflicts"].([]any)[0]
	assert.Equal(t, []string{"ours", "path", "theirs"}, keys(t, conflict))
	assert.Equal(t, []string{"kind", "mode", "size"}, keys(t, conflict.(map[string]any)["ours"]))

	once, err = run("once", "--json")
	assert.Equal(t, ExitAttention, ExitCode(err))
	assert.Equal(t, 1.0, once["conflicts_waiting"])
	settled := once["conflicts"].([]any)[0]
	assert.Equal(t, []string{"copy_path", "note", "path", "peer", "resolved_by"}, keys(t, settled))
	assert.Equal(t, "server", settled.(map[string]any)["peer"])

	list, err := run("conflicts", "list", "--json")
	require.NoError(t, err)
	item := list["conflicts"].([]any)[0].(map[string]any)
	assert.Equal(t, []string{"copy_path", "id", "kept", "note", "number", "path", "peer", "queued"}, sortedKeys(item))
	assert.Equal(t, "server#1", item["id"])
	assert.Equal(t, "notes.txt", item["path"])
	_, err = time.Parse(time.RFC3339, item["queued"].(string))
	assert.NoError(t, err)

	status, err := run("status", "--json")
	require.NoError(t, err)
	assert.Equal(t, []string{"conflicts_waiting", "engine", "hosts", "paused", "peers", "root"}, keys(t, status))
	assert.Equal(t, map[string]any{"name": "server", "location": peer, "conflicts_waiting": 1.0}, status["peers"].([]any)[0])
	// With no daemon, the hosts are this one and its peer.
	hosts := status["hosts"].([]any)
	require.Len(t, hosts, 2)
	assert.Equal(t, "this host", hosts[0].(map[string]any)["state"])
	assert.Equal(t, false, hosts[0].(map[string]any)["paused"])
	assert.Equal(t, "server", hosts[1].(map[string]any)["name"])
	assert.Equal(t, peer, hosts[1].(map[string]any)["location"])
	assert.NotEmpty(t, hosts[1].(map[string]any)["replica"], "the peer's replica, from the pair's first sync")
}

// TestStatusShowsHalted: a running engine's halted pair is in status, and
// in its JSON, for that peer only; per-peer review counts are there too.
func TestStatusShowsHalted(t *testing.T) {
	tmp := t.TempDir()
	root, good, gone := filepath.Join(tmp, "root"), filepath.Join(tmp, "good"), filepath.Join(tmp, "gone")
	for _, d := range []string{root, good, gone} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	for _, n := range []string{"a", "b", "c"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, n), []byte(n), 0o644))
	}
	var out bytes.Buffer
	var logs syncBuffer
	env := &Env{App: &App{Name: "test"}, Root: root, Peers: []Peer{{Name: "good", Location: good}, {Name: "gone", Location: gone}},
		State: filepath.Join(tmp, "state", "test.db"), StateDir: filepath.Join(tmp, "state"), Streams: Streams{Out: &out, Err: &logs}, Log: newLogger(&logs, false)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, closeAll, err := env.Engine(ctx)
	require.NoError(t, err)
	defer closeAll()
	_, err = e.SyncOnce(ctx)
	require.NoError(t, err)
	// Another file system mounted at a peer's root: nothing of what was
	// synced is there.
	require.NoError(t, os.RemoveAll(gone))
	require.NoError(t, os.MkdirAll(filepath.Join(gone, "lost+found"), 0o700))

	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); len(e.Status().Halted) == 0; time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "the pair was not halted:\n%s", logs.String())
	}
	require.NoError(t, env.status(ctx, &direct{env: env, e: e}, true))
	st := decode(t, out.String())
	peers := st["peers"].([]any)
	require.Len(t, peers, 2)
	assert.NotContains(t, peers[0], "halted", "good")
	assert.Equal(t, "gone", peers[1].(map[string]any)["name"])
	assert.Contains(t, peers[1].(map[string]any)["halted"], "gone")
	assert.Equal(t, 0.0, peers[1].(map[string]any)["conflicts_waiting"])

	out.Reset()
	require.NoError(t, env.status(ctx, &direct{env: env, e: e}, false))
	assert.Contains(t, out.String(), "peer gone (")
	assert.Contains(t, out.String(), "  halted until a person acts: ")
	cancel()
	<-done
}

// TestWriteJSONEscapes: names with control characters, C1 controls, bidi
// overrides and invalid UTF-8 are written so that no raw one reaches the
// terminal; printable text, emoji included, stays as it is.
func TestWriteJSONEscapes(t *testing.T) {
	var b bytes.Buffer
	in := map[string]string{"path": "evil\x1b[2J\u0085\u009b\u202eok\n", "emoji": "😀 café", "bad": "caf\xe9"}
	require.NoError(t, writeJSON(&b, in))
	s := b.String()
	for _, r := range s {
		require.False(t, (r < 0x20 && r != '\n' && r != ' ') || (r >= 0x7f && r < 0xa0) || r == 0x202e, "raw %U in %q", r, s)
	}
	assert.Contains(t, s, `"evil\u001b[2J\u0085\u009b\u202eok\n"`)
	assert.Contains(t, s, `"😀 café"`)
	var back map[string]string
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	assert.Equal(t, in["path"], back["path"])
	assert.Equal(t, in["emoji"], back["emoji"])
	assert.Equal(t, "caf\ufffd", back["bad"])
}
