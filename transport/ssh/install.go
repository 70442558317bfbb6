package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/zerosync/zerosync/agent"
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
	if goos, goarch, ok := strings.Cut(e.Platform, "/"); ok {
		fmt.Fprintf(&b, " for %s (GOOS=%s GOARCH=%s go build -o zerosync-agent)", e.Platform, goos, goarch)
	}
	path := e.Path
	if path == "" {
		path = "~/.cache/zerosync/agent-" + agent.Version
	}
	fmt.Fprintf(&b, ", copy it to %s on the host and make it executable (chmod 755 %s).", path, path)
	return b.String()
}

// Markers the start script writes on standard output before the agent
// speaks.
const (
	markExec    = "zerosync-exec "
	markMissing = "zerosync-missing "
	markDone    = "zerosync-installed "
)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cacheDirScript sets d to zerosync's cache directory on the host and a
// to the agent's path in it; with dir set it exports ZEROSYNC_CACHE_DIR so
// the agent keeps its caches there too.
func cacheDirScript(dir string) string {
	var b strings.Builder
	if dir != "" {
		switch {
		case dir == "~":
			b.WriteString(`ZEROSYNC_CACHE_DIR="$HOME"`)
		case strings.HasPrefix(dir, "~/"):
			b.WriteString(`ZEROSYNC_CACHE_DIR="$HOME"/` + shellQuote(dir[2:]))
		case strings.HasPrefix(dir, "/"):
			b.WriteString(`ZEROSYNC_CACHE_DIR=` + shellQuote(dir))
		default:
			b.WriteString(`ZEROSYNC_CACHE_DIR="$HOME"/` + shellQuote(dir))
		}
		b.WriteString("; export ZEROSYNC_CACHE_DIR; ")
	}
	b.WriteString(`d="${ZEROSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zerosync}"; `)
	b.WriteString(`a="$d/agent-` + agent.Version + `"; `)
	return b.String()
}

// shCommand wraps a script for the remote user's login shell, whatever it
// is.
func shCommand(script string) string { return "sh -c " + shellQuote(script) }

// startCommand runs the installed agent, or says it is missing.
func startCommand(dir string) string {
	return shCommand(cacheDirScript(dir) +
		`if [ -x "$a" ]; then echo "` + markExec + `$a"; exec "$a" ` + agent.Arg + `; fi; ` +
		`echo "` + markMissing + `$a"`)
}

// probeCommand prints the agent's path and the host's uname -s and -m,
// one per line.
func probeCommand(dir string) string {
	return shCommand(cacheDirScript(dir) + `echo "$a"; uname -s; uname -m`)
}

// installCommand receives size bytes on standard input and installs them
// as the agent, atomically, checking the length first.
func installCommand(dir string, size int64) string {
	n := strconv.FormatInt(size, 10)
	return shCommand(cacheDirScript(dir) +
		`mkdir -p "$d" || exit 1; ` +
		`t="$d/.agent-` + agent.Version + `.$$.tmp"; trap 'rm -f "$t"' EXIT; ` +
		`cat > "$t" || exit 1; ` +
		`n=$(wc -c < "$t" | tr -d ' '); ` +
		`[ "$n" = ` + n + ` ] || { echo "received $n of ` + n + ` bytes" >&2; exit 1; }; ` +
		`chmod 755 "$t" && mv -f "$t" "$a" || exit 1; ` +
		`echo "` + markDone + `$a"`)
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

// localPlatform is this program's GOOS/GOARCH.
func localPlatform() string { return runtime.GOOS + "/" + runtime.GOARCH }

// install copies this program to the host as the agent, after checking
// that the host's platform is the program's and that the program can
// serve as the agent.
func (h *host) install(ctx context.Context, conn *sshConn) error {
	t := h.t
	out, errOut, err := conn.run(ctx, probeCommand(t.cfg.remoteCacheDir), nil)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) != 3 {
		return &AgentError{Host: h.hc.String(), Err: fmt.Errorf("probing the host failed: %v %s", err, trimOutput(errOut))}
	}
	path, remote := lines[0], platform(lines[1], lines[2])
	aerr := &AgentError{Host: h.hc.String(), Path: path, Platform: remote}
	if local := t.platform(); remote != local {
		aerr.Err = fmt.Errorf("the host is %s but this program is built for %s, so it cannot be copied there", remote, local)
		return aerr
	}
	if !t.handled() {
		aerr.Err = errors.New("this program does not call agent.Handle() first thing in main, so it cannot serve as the agent")
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
	st, err := f.Stat()
	if err != nil {
		aerr.Err = fmt.Errorf("reading this program's executable: %w", err)
		return aerr
	}
	h.log.Info("installing the agent", "path", path, "bytes", st.Size())
	out, errOut, err = conn.run(ctx, installCommand(t.cfg.remoteCacheDir, st.Size()), f)
	if err != nil || !bytes.Contains(out, []byte(markDone)) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		aerr.Err = fmt.Errorf("copying the agent failed: %s", trimOutput(errOut))
		if len(bytes.TrimSpace(errOut)) == 0 {
			aerr.Err = fmt.Errorf("copying the agent failed: %v", err)
		}
		return aerr
	}
	t.stats.uploads.Add(1)
	return nil
}

// trimOutput makes command output fit in an error message.
func trimOutput(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return s
}
