package apptest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/app"
)

// Hosts is this host's tree and its peers' trees, each a temporary folder,
// for a test of what an example engine is for, through its command line.
// Build it with [NewHosts]. It is not safe for concurrent use.
type Hosts struct {
	// Root is this host's tree (--root).
	Root string
	// Peers maps a peer's name to its tree (--peer NAME=DIR).
	Peers map[string]string

	t     *testing.T
	a     *app.App
	names []string // the peers' names, in the order given
	state string
}

// NewHosts makes an empty tree for this host and one for each peer named,
// and a state database, all in temporary folders that t removes.
func NewHosts(t *testing.T, a *app.App, peers ...string) *Hosts {
	t.Helper()
	tmp := t.TempDir()
	h := &Hosts{Root: filepath.Join(tmp, "root"), Peers: map[string]string{}, t: t, a: a, names: peers,
		state: filepath.Join(tmp, "state", a.Name+".db")}
	if err := os.Mkdir(h.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		h.Peers[p] = filepath.Join(tmp, "peer-"+p)
		if err := os.Mkdir(h.Peers[p], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// Try runs the engine's command line as a person types it: the global
// flags (--root, --peer for each peer, --state), then args. It returns what
// the command printed, standard output and error together, and fails the
// test if that holds a control character other than a newline.
func (h *Hosts) Try(args ...string) (string, error) {
	h.t.Helper()
	all := append(h.globals(), args...)
	var out bytes.Buffer
	err := h.a.Run(context.Background(), all, app.Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	checkEscaped(h.t, args, out.String())
	return out.String(), err
}

// globals are the global flags of the hosts: --root, --peer for each
// peer, --state.
func (h *Hosts) globals() []string {
	all := []string{"--root", h.Root}
	for _, p := range h.names {
		all = append(all, "--peer", p+"="+h.Peers[p])
	}
	return append(all, "--state", h.state)
}

// Run is [Hosts.Try] that fails the test when the command fails. Exit
// status 3 is not a failure: once returns it when it finished but left
// problems or conflicts for a person ([app.ExitAttention]), which the test
// sees in what it printed.
func (h *Hosts) Run(args ...string) string {
	h.t.Helper()
	out, err := h.Try(args...)
	if err != nil && app.ExitCode(err) != app.ExitAttention {
		h.t.Fatalf("%s %s: %v\n%s", h.a.Name, strings.Join(args, " "), err, out)
	}
	return out
}

// Write writes content to the file rel in the tree dir with exactly the
// permission bits mode (whatever the umask), making its folders.
func (h *Hosts) Write(dir, rel, content string, mode fs.FileMode) {
	h.t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		h.t.Fatal(err)
	}
}

// Read returns the content of the file rel in the tree dir, and false when
// there is none.
func (h *Hosts) Read(dir, rel string) (string, bool) {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b), true
}

// Mode returns the permission bits of the file rel in the tree dir.
func (h *Hosts) Mode(dir, rel string) fs.FileMode {
	h.t.Helper()
	fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		h.t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Tree returns the files of the tree dir, by slash path, with their
// content, leaving out what the engine keeps for itself there (its state
// folder, temp files, conflict copies).
func (h *Hosts) Tree(dir string) map[string]string {
	h.t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && zerosync.ReservedName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return files
}
