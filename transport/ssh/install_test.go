package ssh

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerosync/zerosync/agent"
)

func TestPlatform(t *testing.T) {
	cases := map[[2]string]string{
		{"Linux", "x86_64"}:       "linux/amd64",
		{"Linux", "aarch64"}:      "linux/arm64",
		{"Darwin", "arm64"}:       "darwin/arm64",
		{"Linux", "armv7l"}:       "linux/arm",
		{"Linux", "i686"}:         "linux/386",
		{"FreeBSD", "amd64"}:      "freebsd/amd64",
		{"Linux", "riscv64"}:      "linux/riscv64",
		{"Linux", "loongarch64"}:  "linux/loong64",
		{"Linux", "ppc64le"}:      "linux/ppc64le",
		{"SunOS", "weird-thing9"}: "sunos/weird-thing9",
	}
	for in, want := range cases {
		if got := platform(in[0], in[1]); got != want {
			t.Errorf("platform(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

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

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", `a "b" $HOME ` + "`x`" + ` \n`, "'''"} {
		out, _, err := runScript(t, "printf %s "+shellQuote(s), t.TempDir(), nil)
		if err != nil || out != s {
			t.Errorf("quoted %q came back as %q (%v)", s, out, err)
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

func TestStartScript(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "cache dir")
	path := filepath.Join(dir, "agent-"+agent.Version)
	out, _, err := runScript(t, startCommand(dir), home, nil)
	if err != nil || out != markMissing+path+"\n" {
		t.Fatalf("missing agent: %q, %v", out, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho \"args: $*\"\necho \"cache: $ZEROSYNC_CACHE_DIR\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, _, err = runScript(t, startCommand(dir), home, nil)
	want := markExec + path + "\nargs: " + agent.Arg + "\ncache: " + dir + "\n"
	if err != nil || out != want {
		t.Fatalf("installed agent: %q, %v; want %q", out, err, want)
	}
}

func TestInstallScript(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "new", "cache")
	path := filepath.Join(dir, "agent-"+agent.Version)
	body := []byte("#!/bin/sh\necho agent\n")

	// A short upload installs nothing and leaves no temp file.
	_, errOut, err := runScript(t, installCommand(dir, int64(len(body))+1), home, body)
	if err == nil || !strings.Contains(errOut, "received") {
		t.Fatalf("short upload: %v %q", err, errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a short upload left %v", ents)
	}

	out, errOut, err := runScript(t, installCommand(dir, int64(len(body))), home, body)
	if err != nil || out != markDone+path+"\n" {
		t.Fatalf("install: %q %q %v", out, errOut, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("installed agent: %v %v", st, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, body) {
		t.Fatalf("installed %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("the install left %v", ents)
	}

	// A directory that cannot be made is an error with the reason.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = runScript(t, installCommand(filepath.Join(blocker, "cache"), int64(len(body))), home, body)
	var xerr *exec.ExitError
	if !errors.As(err, &xerr) || !strings.Contains(errOut, "Not a directory") {
		t.Fatalf("blocked directory: %v %q", err, errOut)
	}
}

func TestProbeScript(t *testing.T) {
	home := t.TempDir()
	out, _, err := runScript(t, probeCommand(""), home, nil)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 {
		t.Fatalf("probe: %q %v", out, err)
	}
	if lines[0] != home+"/.cache/zerosync/agent-"+agent.Version {
		t.Errorf("path %q", lines[0])
	}
	if got := platform(lines[1], lines[2]); got != localPlatform() {
		t.Errorf("this host is %s by uname, %s by the Go runtime", got, localPlatform())
	}
}

func TestAgentErrorMessage(t *testing.T) {
	err := &AgentError{Host: "u@h:22", Path: "/home/u/.cache/zerosync/agent-x", Platform: "linux/arm64", Err: errors.New("boom")}
	msg := err.Error()
	for _, want := range []string{"boom", "GOOS=linux GOARCH=arm64", "/home/u/.cache/zerosync/agent-x", "chmod 755", "agent.Handle()"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
