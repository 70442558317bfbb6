package ssh

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/remote"
)

// runScript runs a command as the remote login shell would, with home as
// $HOME and env added.
func runScript(t *testing.T, cmd, home string, stdin []byte, env ...string) (string, string, error) {
	t.Helper()
	c := exec.Command("sh", "-c", cmd)
	c.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}, env...)
	c.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	return out.String(), errOut.String(), err
}

// runAnswer runs a script of a run tagged g, behind a banner that the
// login would print, and returns its answer and standard error.
func runAnswer(t *testing.T, g tag, cmd, home string, stdin []byte) (*answer, string, error) {
	t.Helper()
	out, errOut, err := runScript(t, "printf 'Welcome\\n%s done /fake\\nno newline' "+shellQuote(string(newTag()))+"; "+cmd, home, stdin)
	a := &answer{tag: g}
	a.Write([]byte(out))
	a.end()
	return a, errOut, err
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// foreignDir returns a directory that belongs to another user and that
// nobody else may write to.
func foreignDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return "/usr" // root's
	}
	d := filepath.Join(t.TempDir(), "theirs")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", `a "b" $HOME ` + "`x`" + ` \n`, "'''"} {
		out, _, err := runScript(t, "printf %s "+shellQuote(s), t.TempDir(), nil)
		if err != nil || out != s {
			t.Errorf("quoted %q came back as %q (%v)", s, out, err)
		}
	}
}

func TestShellWord(t *testing.T) {
	cases := map[string]string{
		"/home/u/.cache/zerosync/agent-0.2.0+proto1": "/home/u/.cache/zerosync/agent-0.2.0+proto1",
		"~/dir":        "~/dir",
		"with space":   "'with space'",
		"it's":         `'it'\''s'`,
		"esc\x1b[2J":   `"esc\x1b[2J"`,
		"new\nline":    `"new\nline"`,
		"bad\xffbyte":  `"bad\xffbyte"`,
		"":             "''",
		"$HOME/x":      "'$HOME/x'",
		"caf\u00e9/ok": "'caf\u00e9/ok'",
	}
	for in, want := range cases {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCacheDirScript(t *testing.T) {
	home := t.TempDir()
	name := "agent-" + agent.Version
	cases := []struct {
		dir  string
		env  []string
		want string
	}{
		{"", nil, home + "/.cache/zerosync/" + name},
		{"", []string{"XDG_CACHE_HOME=/xdg"}, "/xdg/zerosync/" + name},
		{"", []string{"ZEROSYNC_CACHE_DIR=/zs"}, "/zs/" + name},
		{"/abs/it's here", []string{"ZEROSYNC_CACHE_DIR=/ignored"}, "/abs/it's here/" + name},
		{"~/c", nil, home + "/c/" + name},
		{"~", nil, home + "/" + name},
		{"rel/d", nil, home + "/rel/d/" + name},
	}
	for _, c := range cases {
		out, _, err := runScript(t, shCommand(cacheDirScript(c.dir)+`echo "$a|$ZEROSYNC_CACHE_DIR"`), home, nil, c.env...)
		if err != nil {
			t.Fatal(err)
		}
		got, exported, _ := strings.Cut(strings.TrimSpace(out), "|")
		if got != c.want {
			t.Errorf("dir %q env %v: agent at %q, want %q", c.dir, c.env, got, c.want)
		}
		if c.dir != "" && exported+"/"+name != c.want {
			t.Errorf("dir %q: ZEROSYNC_CACHE_DIR is %q for the agent", c.dir, exported)
		}
	}
}

// TestAnswer: only lines with the run's tag are the answer, wherever they
// start; the rest is kept, cut short.
func TestAnswer(t *testing.T) {
	g := newTag()
	a := &answer{tag: g}
	for _, chunk := range []string{
		"Welcome!\nzerosync-exec /bin/false\n", string(newTag()) + " done /fake\n",
		"no newline then ", string(g), " path /a/b c\r\n", string(g) + " os Li", "nux\n",
		strings.Repeat("x", maxLine+10), "\n", string(g) + " arch x86_64",
	} {
		a.Write([]byte(chunk))
	}
	a.end()
	want := []said{{"path", "/a/b c"}, {"os", "Linux"}, {"arch", "x86_64"}}
	if fmt.Sprint(a.said) != fmt.Sprint(want) {
		t.Fatalf("said %q, want %q", a.said, want)
	}
	if _, ok := a.get(wordDone); ok {
		t.Fatal("another run's tag was taken as this run's")
	}
	if !bytes.HasPrefix(a.other, []byte("Welcome!\nzerosync-exec /bin/false\n")) || !bytes.Contains(a.other, []byte("no newline then \n")) {
		t.Fatalf("other output %q", a.other)
	}
	if len(a.other) > maxOther || !a.dropped {
		t.Fatalf("other output of %d bytes kept, dropped %v", len(a.other), a.dropped)
	}
	msg := printed(a.other, a.dropped, []byte("\x1b[31mred\x1b[0m on stderr"))
	if !strings.Contains(msg, `\x1b[31mred`) || strings.Contains(msg, "\x1b") || !strings.Contains(msg, "cut short") {
		t.Fatalf("printed: %s", msg)
	}
}

// FuzzAnswer: any output, cut anywhere, keeps the answer bounded, and an
// answer line after it is found.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte("Welcome\nzerosync-x path /p\n"), uint8(3))
	f.Add([]byte("no newline"), uint8(1))
	f.Add(bytes.Repeat([]byte("TAG os x\n"), 100), uint8(7))
	f.Fuzz(func(t *testing.T, out []byte, cut uint8) {
		g := tag("zerosync-0123456789abcdef01234567")
		out = bytes.ReplaceAll(out, []byte("TAG"), []byte(g))
		a := &answer{tag: g}
		for p := out; len(p) > 0; {
			n := min(len(p), int(cut)+1)
			a.Write(p[:n])
			p = p[n:]
		}
		a.Write([]byte("\n" + string(g) + " path /the/end\n"))
		a.end()
		if len(a.said) > maxSaid || len(a.other) > maxOther || len(a.partial) > maxLine {
			t.Fatalf("unbounded: %d said, %d other, %d partial", len(a.said), len(a.other), len(a.partial))
		}
		if len(a.said) < maxSaid && a.said[len(a.said)-1] != (said{wordPath, "/the/end"}) {
			t.Fatalf("the last answer line was lost: %q", a.said)
		}
		if s := printed(a.other, a.dropped, out); !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\x1b\n\r") {
			t.Fatalf("printed lets control characters through: %q", s)
		}
	})
}

func TestStartScript(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "cache dir")
	path := filepath.Join(dir, "agent-"+agent.Version)
	g := newTag()
	a, _, err := runAnswer(t, g, startCommand(g, dir, 0), home, nil)
	if v, _ := a.get(wordMissing); err != nil || v != path {
		t.Fatalf("missing agent: %q, %v", a.said, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho \"args: $*\"\necho \"cache: $ZEROSYNC_CACHE_DIR\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, _, err = runAnswer(t, g, startCommand(g, dir, 0), home, nil)
	if v, _ := a.get(wordExec); err != nil || v != path {
		t.Fatalf("installed agent: %q, %v", a.said, err)
	}
	if want := "args: " + agent.Arg + "\ncache: " + dir + "\n"; !strings.HasSuffix(string(a.other), want) {
		t.Fatalf("the agent printed %q, want %q after the answer", a.other, want)
	}
	// Asked to linger, it is told so, and its cache directory is the
	// script's, where its socket will be.
	a, _, err = runAnswer(t, g, startCommand(g, dir, 90*time.Second), home, nil)
	if v, _ := a.get(wordSock); err != nil || v != filepath.Join(dir, remote.AgentSocket) {
		t.Fatalf("lingering agent: %q, %v", a.said, err)
	}
	if want := "args: " + agent.Arg + " " + agent.LingerArg + "1m30s\ncache: " + dir + "\n"; !strings.HasSuffix(string(a.other), want) {
		t.Fatalf("the lingering agent printed %q, want %q after the answer", a.other, want)
	}

	// An agent others may write to is replaced, not run.
	if err := os.Chmod(path, 0o757); err != nil {
		t.Fatal(err)
	}
	a, _, err = runAnswer(t, g, startCommand(g, dir, 0), home, nil)
	note, _ := a.get(wordNote)
	if v, _ := a.get(wordMissing); err != nil || v != path || !strings.Contains(note, "other users write") {
		t.Fatalf("agent others may write to: %q, %v", a.said, err)
	}

	// A directory others may write to, or another user's, is refused.
	if err := os.Chmod(path, 0o700); err != nil {
		t.Fatal(err)
	}
	for mode, why := range map[os.FileMode]string{0o775: "drwxrwxr-x lets other users write", os.ModeSticky | 0o777: "drwxrwxrwt lets other users write"} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		a, _, err = runAnswer(t, g, startCommand(g, dir, 0), home, nil)
		d, _ := a.get(wordDir)
		v, _ := a.get(wordUnsafe)
		if err != nil || d != dir || !strings.Contains(v, why) {
			t.Fatalf("directory %o: %q, %v", mode, a.said, err)
		}
		if _, ok := a.get(wordExec); ok {
			t.Fatalf("directory %o: the agent ran", mode)
		}
	}
	theirs := foreignDir(t)
	a, _, err = runAnswer(t, g, startCommand(g, theirs, 0), home, nil)
	if v, _ := a.get(wordUnsafe); err != nil || !strings.Contains(v, "belongs to user id") {
		t.Fatalf("another user's directory: %q, %v", a.said, err)
	}
}

func TestInstallScript(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "new", "cache")
	path := filepath.Join(dir, "agent-"+agent.Version)
	body := []byte("#!/bin/sh\necho agent\n")
	sum := sha256Hex(body)
	g := newTag()
	install := func(dir string, size int64, sum string, body []byte) (*answer, error) {
		t.Helper()
		a, _, err := runAnswer(t, g, installCommand(g, dir, size, sum), home, body)
		return a, err
	}

	// A short upload installs nothing and leaves no temp file.
	a, err := install(dir, int64(len(body))+1, sum, body)
	if v, _ := a.get(wordError); err == nil || !strings.Contains(v, "received") {
		t.Fatalf("short upload: %v %q", err, a.said)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a short upload left %v", ents)
	}

	// A changed upload (same length, another hash) is refused and
	// deleted.
	bad := bytes.Clone(body)
	bad[len(bad)-2] = 'X'
	a, err = install(dir, int64(len(bad)), sum, bad)
	if v, _ := a.get(wordError); err == nil || !strings.Contains(v, "SHA-256 is "+sha256Hex(bad)+", not "+sum) {
		t.Fatalf("changed upload: %v %q", err, a.said)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a changed upload left %v", ents)
	}

	a, err = install(dir, int64(len(body)), sum, body)
	if v, _ := a.get(wordDone); err != nil || v != path {
		t.Fatalf("install: %q %v", a.said, err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode() != want {
			t.Fatalf("%s: %v %v, want mode %v", p, st.Mode(), err, want)
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, body) {
		t.Fatalf("installed %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("the install left %v", ents)
	}

	// An existing directory of the user's is made owner-only.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if a, err := install(dir, int64(len(body)), sum, body); err != nil {
		t.Fatalf("install again: %q %v", a.said, err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("directory left %v", st.Mode())
	}

	// A directory others may write to, or another user's, is refused and
	// left as it was.
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil || os.Chmod(open, 0o777) != nil {
		t.Fatal(err)
	}
	for _, d := range []string{open, foreignDir(t)} {
		a, err := install(d, int64(len(body)), sum, body)
		if v, _ := a.get(wordError); err == nil || !strings.Contains(v, "refusing the directory "+d) {
			t.Fatalf("%s: %v %q", d, err, a.said)
		}
		if ents, _ := os.ReadDir(d); d == open && len(ents) != 0 {
			t.Fatalf("%s: left %v", d, ents)
		}
	}
	if st, _ := os.Stat(open); st.Mode().Perm() != 0o777 {
		t.Fatalf("a refused directory was changed to %v", st.Mode())
	}

	// A directory that cannot be made is an error with the reason.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err = install(filepath.Join(blocker, "cache"), int64(len(body)), sum, body)
	var xerr *exec.ExitError
	if v, _ := a.get(wordError); !errors.As(err, &xerr) || !strings.Contains(v, "Not a directory") {
		t.Fatalf("blocked directory: %v %q", err, a.said)
	}
}

// TestInstallScriptHashTools: each of the tools the install script may
// find checks the upload the same way.
func TestInstallScriptHashTools(t *testing.T) {
	body := []byte("#!/bin/sh\necho agent\n")
	sum := sha256Hex(body)
	for _, tool := range []string{"sha256sum", "shasum", "openssl"} {
		t.Run(tool, func(t *testing.T) {
			real, err := exec.LookPath(tool)
			if err != nil {
				t.Fatalf("%s is needed: %v", tool, err)
			}
			// A PATH with only the tool and what the script needs besides.
			bin := t.TempDir()
			for _, name := range []string{"sh", "ls", "id", "mkdir", "chmod", "rm", "cat", "wc", "tr", "mv", "perl", tool} {
				p, err := exec.LookPath(name)
				if name == tool {
					p = real
				}
				if err != nil {
					continue
				}
				if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
					t.Fatal(err)
				}
			}
			dir := filepath.Join(t.TempDir(), "cache")
			g := newTag()
			c := exec.Command(filepath.Join(bin, "sh"), "-c", installCommand(g, dir, int64(len(body)), sum))
			c.Env = []string{"HOME=" + t.TempDir(), "PATH=" + bin}
			c.Stdin = bytes.NewReader(body)
			out, err := c.CombinedOutput()
			a := &answer{tag: g}
			a.Write(out)
			a.end()
			if _, ok := a.get(wordDone); err != nil || !ok {
				t.Fatalf("install with %s: %v %q %q", tool, err, a.said, a.other)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		bin := t.TempDir()
		for _, name := range []string{"sh", "ls", "id", "mkdir", "chmod", "rm", "cat", "wc", "tr", "mv"} {
			p, err := exec.LookPath(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
				t.Fatal(err)
			}
		}
		dir := filepath.Join(t.TempDir(), "cache")
		g := newTag()
		c := exec.Command(filepath.Join(bin, "sh"), "-c", installCommand(g, dir, int64(len(body)), sum))
		c.Env = []string{"HOME=" + t.TempDir(), "PATH=" + bin}
		c.Stdin = bytes.NewReader(body)
		out, err := c.CombinedOutput()
		a := &answer{tag: g}
		a.Write(out)
		a.end()
		if v, _ := a.get(wordError); err == nil || !strings.Contains(v, "none of sha256sum") {
			t.Fatalf("no tool: %v %q", err, a.said)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("left %v", ents)
		}
	})
}

func TestProbeScript(t *testing.T) {
	home := t.TempDir()
	g := newTag()
	a, _, err := runAnswer(t, g, probeCommand(g, ""), home, nil)
	path, _ := a.get(wordPath)
	sysname, _ := a.get(wordOS)
	machine, _ := a.get(wordArch)
	if err != nil || len(a.said) != 3 {
		t.Fatalf("probe: %q %v", a.said, err)
	}
	if path != home+"/.cache/zerosync/agent-"+agent.Version {
		t.Errorf("path %q", path)
	}
	if got := platform(sysname, machine); got != localPlatform() {
		t.Errorf("this host is %s by uname, %s by the Go runtime", got, localPlatform())
	}
}
