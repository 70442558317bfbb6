package ssh

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	pathpkg "path"
	"runtime"
	"strings"

	"github.com/zerosync/zerosync/internal/bwlimit"
	"github.com/zerosync/zerosync/transport/remote"
)

// AgentError is an agent that could not be started on a host, or not
// installed there. Its message says how to install one by hand.
type AgentError struct {
	// Host is the host, as user@host:port.
	Host string
	// Path is where the agent belongs on the host; empty when unknown.
	Path string
	// Platform is the host's GOOS/GOARCH; empty when unknown.
	Platform string
	Err      error
}

func (e *AgentError) Unwrap() error { return e.Err }

func (e *AgentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ssh: cannot start the zerosync agent on %s: %v.\n", e.Host, e.Err)
	b.WriteString("Install it by hand: build a program that calls agent.Handle() first thing in main")
	if goos, goarch, ok := strings.Cut(plainText(e.Platform), "/"); ok {
		fmt.Fprintf(&b, " for %s/%s (CGO_ENABLED=0 GOOS=%s GOARCH=%s go build -o zerosync-agent)", goos, goarch, goos, goarch)
	}
	path := e.Path
	if path == "" {
		path = "~/.cache/zerosync/agent-" + remote.AgentVersion
	}
	fmt.Fprintf(&b, ", copy it to %s on the host, and make it and its directory yours alone (chmod 700 %s %s).",
		shellWord(path), shellWord(pathpkg.Dir(path)), shellWord(path))
	return b.String()
}

// platform maps the output of uname -s and uname -m to GOOS/GOARCH.
func platform(sysname, machine string) string {
	goos := strings.ToLower(sysname)
	goarch := strings.ToLower(machine)
	switch goarch {
	case "x86_64", "amd64":
		goarch = "amd64"
	case "aarch64", "arm64", "aarch64_be":
		goarch = "arm64"
	case "i386", "i486", "i586", "i686", "x86", "i86pc":
		goarch = "386"
	case "riscv64":
	case "ppc64le", "ppc64", "s390x", "mips", "mipsle", "mips64", "mips64le":
	case "loongarch64":
		goarch = "loong64"
	default:
		if strings.HasPrefix(goarch, "arm") {
			goarch = "arm"
		}
	}
	return goos + "/" + goarch
}

// errLinkedToLibc is why an agent copied from a program linked against
// this machine's C library may not start on a host: its loader and C
// library are not this machine's.
var errLinkedToLibc = errors.New("this program is linked against this machine's C library (it was built with cgo), and its copy needs the same one on the host: build it with CGO_ENABLED=0 go build, which makes a program that runs on any Linux host")

// linkedToLibc reports whether the executable at path is dynamically
// linked: whether it names a program interpreter (the C library's
// loader), as a Go program built with cgo does.
func linkedToLibc(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// linkedLibc reports whether this program is linked against the C
// library (see [linkedToLibc]), looked up once: false when its executable
// cannot be read.
func (t *Transport) linkedLibc() bool {
	t.libcOnce.Do(func() {
		if exe, err := t.executable(); err == nil {
			t.libc, _ = linkedToLibc(exe)
		}
	})
	return t.libc
}

// localPlatform is this program's GOOS/GOARCH.
func localPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }

// install copies this program to the host as the agent, after checking
// that the host's platform is the program's and that the program can
// serve as the agent. The host checks the copy's length and SHA-256
// before it may run.
func (h *host) install(ctx context.Context, conn *sshConn) error {
	t := h.t
	g := newTag()
	probe := &answer{tag: g}
	errOut, err := conn.run(ctx, probeCommand(g, t.cfg.remoteCacheDir), nil, probe)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	path, okPath := probe.get(wordPath)
	sysname, okOS := probe.get(wordOS)
	machine, okArch := probe.get(wordArch)
	if !okPath || !okOS || !okArch || path == "" {
		why := "its answer is missing"
		if err != nil {
			why = err.Error()
		}
		return &AgentError{Host: h.hc.String(), Err: fmt.Errorf("probing the host (the agent's path and uname -s -m) failed: %s%s",
			why, printed(probe.other, probe.dropped, errOut))}
	}
	remote := platform(sysname, machine)
	aerr := &AgentError{Host: h.hc.String(), Path: path, Platform: remote}
	if local := t.platform(); remote != local {
		aerr.Err = fmt.Errorf("the host is %s but this program is built for %s, so it cannot be copied there", plainText(remote), local)
		return aerr
	}
	if !t.handled() {
		aerr.Err = errors.New("this program does not call agent.Handle() first thing in main, or its transport was built without WithSelfInstall, so it does not install itself as the agent")
		return aerr
	}
	exe, err := t.executable()
	if err != nil {
		aerr.Err = fmt.Errorf("finding this program's executable: %w", err)
		return aerr
	}
	f, err := os.Open(exe)
	if err != nil {
		aerr.Err = fmt.Errorf("reading this program's executable: %w", err)
		return aerr
	}
	defer f.Close()
	sum := sha256.New()
	size, err := io.Copy(sum, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		aerr.Err = fmt.Errorf("reading this program's executable: %w", err)
		return aerr
	}
	hexSum := hex.EncodeToString(sum.Sum(nil))
	h.log.Info("installing the agent", "path", path, "bytes", size, "sha256", hexSum)
	if t.linkedLibc() {
		h.log.Warn("the agent copied to the host may not start there", "why", errLinkedToLibc)
	}
	var body io.Reader = io.LimitReader(f, size)
	if lim, _ := bwlimit.New(t.cfg.bandwidth(h.hc.alias)); lim != nil {
		// The option took only rates that New takes.
		body = lim.Reader(ctx.Done(), body)
	}
	if t.upload != nil {
		body = t.upload(body)
	}
	g = newTag()
	inst := &answer{tag: g}
	errOut, err = conn.run(ctx, installCommand(g, t.cfg.remoteCacheDir, size, hexSum), body, inst)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, ok := inst.get(wordDone); !ok || err != nil {
		why, ok := inst.get(wordError)
		switch {
		case ok:
			why = plainText(why)
		case err != nil:
			why = err.Error()
		default:
			why = "the host did not say it was done"
		}
		aerr.Err = fmt.Errorf("copying the agent failed: %s%s", why, printed(inst.other, inst.dropped, errOut))
		return aerr
	}
	t.stats.uploads.Add(1)
	return nil
}
