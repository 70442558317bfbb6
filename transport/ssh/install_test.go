package ssh

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
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

func TestAgentErrorMessage(t *testing.T) {
	err := &AgentError{Host: "u@h:22", Path: "/home/u/.cache/zerosync/agent-x", Platform: "linux/arm64", Err: errors.New("boom")}
	msg := err.Error()
	for _, want := range []string{"boom", "CGO_ENABLED=0 GOOS=linux GOARCH=arm64", "/home/u/.cache/zerosync/agent-x", "chmod 700 /home/u/.cache/zerosync /home/u/.cache/zerosync/agent-x", "agent.Handle()"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

// TestLinkedToLibc: a program that names the C library's loader is told
// apart from one that names none, as a Go program built with
// CGO_ENABLED=0.
func TestLinkedToLibc(t *testing.T) {
	dyn, err := linkedToLibc("/bin/true")
	if err != nil || !dyn {
		t.Fatalf("/bin/true: linked %v, %v; want true", dyn, err)
	}
	// The smallest 64-bit ELF file: its header alone, no program headers.
	static := filepath.Join(t.TempDir(), "static")
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF\x02\x01\x01")
	hdr[16], hdr[18], hdr[20] = 2, 62, 1 // ET_EXEC, EM_X86_64, EV_CURRENT
	hdr[52] = 64                         // e_ehsize
	if err := os.WriteFile(static, hdr, 0o755); err != nil {
		t.Fatal(err)
	}
	if dyn, err := linkedToLibc(static); err != nil || dyn {
		t.Fatalf("a header without an interpreter: linked %v, %v; want false", dyn, err)
	}
	if _, err := linkedToLibc(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("a missing file gave no error")
	}
}

// bannerHome returns a home directory whose shell start-up files print a
// banner on standard output (one line ending without a newline, one that
// looks like the start script's old marker) and on standard error, then
// take a second, as slow login scripts do. Each run appends a line to the
// file ran in it.
func bannerHome(t *testing.T) (home, ran string) {
	t.Helper()
	home = t.TempDir()
	ran = filepath.Join(home, "ran")
	script := "echo \"$0\" >> " + shellQuote(ran) + "\n" +
		"echo 'Welcome to the test host!'\n" +
		"echo 'zerosync-exec /bin/false'\n" +
		"echo 'zerosync-installed /bin/false'\n" +
		"printf 'Last login: never'\n" +
		"echo 'a warning on stderr' >&2\n" +
		"sleep 1\n"
	for _, name := range []string{".bashrc", ".profile", ".bash_profile"} {
		if err := os.WriteFile(filepath.Join(home, name), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home, ran
}

// bannerTransport returns a transport that reaches f with the agent in
// its default place, beneath the remote $HOME.
func bannerTransport(t *testing.T, f *fixture) *Transport {
	t.Helper()
	tr, err := New(WithSelfInstall(), WithConfigFile("none"), WithKnownHosts(f.srv.KnownHosts), WithIdentityFile(f.srv.KeyFile),
		WithAgentSocket(""), WithBackoff(10*time.Millisecond, 200*time.Millisecond), WithDialTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestInstallBehindLoginBanner: over the real sshd, a login whose start-up
// files print a banner (with lines that look like the scripts' answers)
// and take a second still gets the agent installed, owner-only, and the
// sync works; the next connection starts the installed agent.
func TestInstallBehindLoginBanner(t *testing.T) {
	ctx := testContext(t)
	home, ran := bannerHome(t)
	f := newFixture(t, sshtest.WithHome(home))
	f.cache = filepath.Join(home, ".cache", "zerosync")
	tr := bannerTransport(t, f)

	laptop, server := newDir(t, "laptop"), newDir(t, "server")
	writeFile(t, laptop, "a.txt", []byte("from the laptop\n"))
	writeFile(t, server, "b.txt", randomBytes(t, 200<<10))
	ep, err := tr.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatalf("endpoint behind a login banner: %v", err)
	}
	if st := tr.Stats(); st.Uploads != 1 || st.Agents != 1 {
		t.Fatalf("stats %+v, want one upload and one agent", st)
	}
	if b, err := os.ReadFile(ran); err != nil || strings.Count(string(b), "\n") < 3 {
		t.Fatalf("the login scripts did not run for the start, probe and install (%q, %v): the test proves nothing", b, err)
	}
	for p, want := range map[string]os.FileMode{f.agentPath(): 0o700, f.cache: 0o700 | os.ModeDir} {
		if st, err := os.Stat(p); err != nil || st.Mode() != want {
			t.Fatalf("%s: %v %v, want %v", p, st.Mode(), err, want)
		}
	}
	e := syncPair(t, laptop, ep, filepath.Join(t.TempDir(), "state.db"))
	syncOnce(t, ctx, e)
	sameTrees(t, laptop, server)
	e.Close()
	ep.Close()
	tr.Close()

	// A new connection starts the installed agent behind the banner.
	tr2 := bannerTransport(t, f)
	ep2, err := tr2.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatalf("second start behind a login banner: %v", err)
	}
	writeFile(t, laptop, "c.txt", []byte("later\n"))
	e2 := syncPair(t, laptop, ep2, filepath.Join(t.TempDir(), "state.db"))
	syncOnce(t, ctx, e2)
	sameTrees(t, laptop, server)
	if st := tr2.Stats(); st.Uploads != 0 || st.Agents != 1 {
		t.Fatalf("second start: %+v, want no upload", st)
	}
}

// flipByte changes the byte at offset off of what r yields.
type flipByte struct {
	r   io.Reader
	off int64
	n   int64
}

func (f *flipByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if i := f.off - f.n; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	f.n += int64(n)
	return n, err
}

// TestInstallTampered: an upload that arrives changed (same length,
// another SHA-256) is refused with the two hashes, and deleted; nothing
// runs it, and the next honest install works.
func TestInstallTampered(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	tr := f.transport(t)
	tr.upload = func(r io.Reader) io.Reader { return &flipByte{r: r, off: 100 << 10} }
	_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
	var aerr *AgentError
	if !errors.As(err, &aerr) {
		t.Fatalf("got %v, want an AgentError", err)
	}
	for _, want := range []string{"copying the agent failed", "its SHA-256 is ", "it changed on the way, and was deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
	if ents, err := os.ReadDir(f.cache); err != nil || len(ents) != 0 {
		t.Fatalf("the cache holds %v after a refused upload (%v)", ents, err)
	}
	if st := tr.Stats(); st.Uploads != 0 || st.Agents != 0 {
		t.Fatalf("stats %+v after a refused upload", st)
	}

	tr2 := f.transport(t)
	if _, err := tr2.Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
		t.Fatalf("honest install after a refused one: %v", err)
	}
}

// TestUnsafeAgentDirectory: a cache directory that others may write to,
// or that belongs to another user, is never run from nor installed into;
// the error says how to fix it.
func TestUnsafeAgentDirectory(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	// An agent that works, in a directory anyone may write to.
	copyFile(t, exe, filepath.Join(open, "agent-"+agent.Version))
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ dir, why string }{
		"others-may-write": {open, "lets other users write to it"},
		"another-users":    {foreignDir(t), "belongs to user id"},
	} {
		t.Run(name, func(t *testing.T) {
			tr := f.transport(t, WithRemoteCacheDir(c.dir))
			_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
			var aerr *AgentError
			if !errors.As(err, &aerr) {
				t.Fatalf("got %v, want an AgentError", err)
			}
			for _, want := range []string{c.why, "chmod 700 " + c.dir} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q:\n%v", want, err)
				}
			}
			if st := tr.Stats(); st.Uploads != 0 || st.Agents != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
	if st, _ := os.Stat(open); st.Mode().Perm() != 0o777 {
		t.Fatalf("a refused directory was changed to %v", st.Mode())
	}
}
