package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/remote"
)

// TestMain lets the test binary serve as the agent, as every program
// embedding zerosync does.
func TestMain(m *testing.M) {
	Handle()
	os.Exit(m.Run())
}

func TestVersionNamesProtocol(t *testing.T) {
	want := "+proto" + strconv.Itoa(remote.ProtocolVersion)
	if !strings.HasSuffix(Version, want) {
		t.Fatalf("Version %q does not end in %q", Version, want)
	}
}

func TestHandled(t *testing.T) {
	if !Handled() {
		t.Fatal("Handle was called in TestMain but Handled is false")
	}
}

// serve runs Serve over an in-memory connection and returns a client of
// it; both end with the test.
func serve(t *testing.T, opts ...Option) *remote.Client {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, a, a, opts...) }()
	c, err := remote.Dial(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-done
	})
	return c
}

func TestServe(t *testing.T) {
	ctx := t.Context()
	home, cache := t.TempDir(), t.TempDir()
	root := filepath.Join(home, "tree")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files modified long ago are kept in the stat cache.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, "a.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	c := serve(t, WithHome(home), WithCacheDir(cache))
	if v := c.Agent().Version; v != Version {
		t.Fatalf("the agent announced %q, want %q", v, Version)
	}
	// "tree" is taken from the home directory.
	ep, err := c.Endpoint(ctx, "tree")
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := ep.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e := snap.Get("a.txt"); e == nil || e.Digest != digest.Sum([]byte("hello")) {
		t.Fatalf("scan: %v", snap)
	}
	body := []byte("new file")
	op := zerosync.Op{Path: "b.txt", New: &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o600, Size: int64(len(body)), Digest: digest.Sum(body)}}
	if err := ep.Apply(ctx, op, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "b.txt")); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("applied file: %q %v", got, err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	// The stat cache of the root is in the cache directory.
	ents, err := os.ReadDir(filepath.Join(cache, "statcache"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("stat cache: %v %v", ents, err)
	}
}

func TestServeRoots(t *testing.T) {
	ctx := t.Context()
	home := t.TempDir()
	c := serve(t, WithHome(home), WithCacheDir(t.TempDir()))
	if _, err := c.Endpoint(ctx, "missing"); !errors.Is(err, zerosync.ErrRootMissing) {
		t.Fatalf("missing root: %v, want ErrRootMissing", err)
	}
	for _, root := range []string{"~", "~/", home} {
		if _, err := c.Endpoint(ctx, root); err != nil {
			t.Errorf("root %q: %v", root, err)
		}
	}
}

// TestOnlyRoot: an agent serving one tree opens it by the name OnlyRoot
// and refuses every other root, the home directory and "/" included.
func TestOnlyRoot(t *testing.T) {
	ctx := t.Context()
	home := t.TempDir()
	tree := filepath.Join(home, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "a.txt"), []byte("offered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "secret"), []byte("not offered"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := serve(t, WithHome(home), WithCacheDir(t.TempDir()), WithOnlyRoot(tree))
	ep, err := c.Endpoint(ctx, OnlyRoot)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := ep.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Get("a.txt") == nil || snap.Get("secret") != nil || len(snap) != 1 {
		t.Fatalf("the one tree scanned as %v", snap)
	}
	for _, root := range []string{"~", "/", home, tree, "tree", "./", "..", "~/tree"} {
		if _, err := c.Endpoint(ctx, root); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("root %q: %v, want a refusal wrapping fs.ErrPermission", root, err)
		}
	}
	for _, bad := range []string{"", "relative", "a\x00b"} {
		if err := WithOnlyRoot(bad)(&config{}); err == nil {
			t.Errorf("WithOnlyRoot(%q) accepted", bad)
		}
	}
}

func TestRootPath(t *testing.T) {
	c := config{home: "/home/u"}
	cases := map[string]string{
		"~":          "/home/u",
		"~/":         "/home/u",
		"~/dotfiles": "/home/u/dotfiles",
		"notes":      "/home/u/notes",
		"a/../b":     "/home/u/b",
		"/srv/www/":  "/srv/www",
		"/":          "/",
	}
	for in, want := range cases {
		if got, err := c.rootPath(in); err != nil || got != want {
			t.Errorf("rootPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a\x00b"} {
		if _, err := c.rootPath(bad); err == nil {
			t.Errorf("rootPath(%q) accepted", bad)
		}
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv(CacheDirEnv, "/somewhere/else")
	if d, err := CacheDir(); err != nil || d != "/somewhere/else" {
		t.Errorf("with %s: %q %v", CacheDirEnv, d, err)
	}
	t.Setenv(CacheDirEnv, "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, err := CacheDir(); err != nil || d != "/xdg/zerosync" {
		t.Errorf("with XDG_CACHE_HOME: %q %v", d, err)
	}
}

func TestOptionsValidated(t *testing.T) {
	for i, o := range []Option{WithLogger(nil), WithCacheDir(""), WithHome("relative")} {
		if err := Serve(t.Context(), strings.NewReader(""), io.Discard, o); err == nil {
			t.Errorf("option %d accepted", i)
		}
	}
}

// TestHandleServes: this test binary, started with Arg, serves the
// protocol on its standard input and output and exits cleanly when its
// input ends; started without, it runs its tests (this one).
func TestHandleServes(t *testing.T) {
	ctx := t.Context()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, Arg)
	cmd.Env = append(os.Environ(), CacheDirEnv+"="+t.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := remote.Dial(ctx, pipes{stdout, stdin})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if v := c.Agent().Version; v != Version {
		t.Errorf("version %q", v)
	}
	root := t.TempDir()
	ep, err := c.Endpoint(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ep.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the agent exited with %v\n%s", err, stderr.String())
	}
}

type pipes struct {
	io.ReadCloser
	w io.WriteCloser
}

func (p pipes) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipes) Close() error {
	p.w.Close()
	return p.ReadCloser.Close()
}
