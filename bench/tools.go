package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tool keeps one pair of trees in sync the way one program does. The pair
// is A, a local folder where the workloads make their changes, and B, which
// starts empty: a local folder in the local mode, the same path on the
// benchmark's sshd in the ssh mode.
type tool interface {
	// Name is the tool's name in the tables.
	Name() string
	// Sync brings B up to date with A; one timed run.
	Sync(ctx context.Context) error
	// Forget drops what the tool remembers of the pair (archives, state,
	// caches), so the next Sync is a first sync.
	Forget() error
	// Persistent reports whether the tool keeps its connection open
	// between runs (so its wire bytes are counted without waiting for the
	// connection to close).
	Persistent() bool
	// Times says which modification times the tool keeps, so the tree
	// checks compare them.
	Times() timeKind
}

// rsyncTool is rsync -a --delete from A to B, over ssh in the ssh mode;
// with fsync, rsync --fsync (every written file made durable, as zerosync
// does).
type rsyncTool struct {
	a, b  string
	ssh   *sshd // nil: local
	fsync bool
}

func (t *rsyncTool) Name() string {
	if t.fsync {
		return "rsync --fsync"
	}
	return "rsync"
}
func (t *rsyncTool) Forget() error    { return nil }
func (t *rsyncTool) Persistent() bool { return false }
func (t *rsyncTool) Times() timeKind  { return timesFiles }

func (t *rsyncTool) Sync(ctx context.Context) error {
	return runCmd(ctx, nil, "rsync", t.args()...)
}

func (t *rsyncTool) args() []string {
	args := []string{"-a", "--delete"}
	if t.fsync {
		args = append(args, "--fsync")
	}
	dst := t.b + "/"
	if t.ssh != nil {
		args = append(args, "-e", t.ssh.command())
		dst = t.ssh.host() + ":" + dst
	}
	return append(args, t.a+"/", dst)
}

// unisonTool is a batch unison run between A and B, with its archives in a
// private folder on both ends (the ssh end gets its own, as a real remote
// host would have).
type unisonTool struct {
	a, b  string
	home  string // HOME and archives
	ssh   *sshd
	local string // UNISON folder of the local end
	far   string // UNISON folder of the far end (ssh mode)
}

func newUnison(a, b, home string, ssh *sshd) (*unisonTool, error) {
	t := &unisonTool{a: a, b: b, home: home, ssh: ssh, local: filepath.Join(home, "unison-local"), far: filepath.Join(home, "unison-far")}
	if strings.ContainsAny(home, " \t'\"") {
		return nil, fmt.Errorf("unison: home %q must not contain spaces or quotes", home)
	}
	return t, os.MkdirAll(home, 0o755)
}

func (t *unisonTool) Name() string     { return "unison" }
func (t *unisonTool) Persistent() bool { return false }
func (t *unisonTool) Times() timeKind  { return timesFilesSeconds }

func (t *unisonTool) Forget() error {
	return errors.Join(os.RemoveAll(t.local), os.RemoveAll(t.far))
}

func (t *unisonTool) Sync(ctx context.Context) error {
	env := append(os.Environ(), "HOME="+t.home, "UNISON="+t.local)
	return runCmd(ctx, env, "unison", t.args()...)
}

func (t *unisonTool) args() []string {
	root2 := t.b
	args := []string{}
	if t.ssh != nil {
		root2 = "ssh://" + t.ssh.host() + "/" + t.b
		args = append(args,
			"-sshargs", strings.Join(t.ssh.opts(true), " "),
			"-servercmd", "env HOME="+t.home+" UNISON="+t.far+" unison")
	}
	return append([]string{t.a, root2}, append(args,
		"-batch", "-auto", "-silent",
		"-confirmbigdel=false",
		"-links", "true",
		"-times",
		"-log=false",
		"-contactquietly",
	)...)
}

// zsProcess is zerosync as a cold process: a new process that opens the
// pair's state and stat caches, syncs once and exits.
type zsProcess struct {
	spec zsSpec
	// profile, when set, names the CPU profile the next run writes.
	profile string
}

func (t *zsProcess) Name() string     { return "zerosync" }
func (t *zsProcess) Forget() error    { return t.spec.forget() }
func (t *zsProcess) Persistent() bool { return false }

// Times: zerosync does not carry modification times across; content and
// permission bits decide.
func (t *zsProcess) Times() timeKind { return timesNone }

func (t *zsProcess) Sync(ctx context.Context) error {
	_, err := runChildOnce(ctx, t.spec, t.profile)
	return err
}
