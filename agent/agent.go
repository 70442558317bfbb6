package agent

import (
	"context"
	"fmt"
	"github.com/zerosync/zerosync/internal/option"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/ctlsock"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/internal/startheap"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/remote"
)

// Version is the agent's version, announced in the protocol's handshake
// ([remote.AgentVersion]).
const Version = remote.AgentVersion

// Arg is the first argument that makes [Handle] serve as the agent
// ([remote.AgentArg]).
const Arg = remote.AgentArg

// CacheDirEnv names the environment variable that overrides the cache
// directory on a host; see [CacheDir].
const CacheDirEnv = "ZEROSYNC_CACHE_DIR"

// handled records that Handle was called in this process.
var handled atomic.Bool

// Handle serves as the agent, and exits, when the program was started with
// [Arg] as its first argument; otherwise it returns at once. Call it first
// thing in main, before flags are parsed or anything is printed.
//
// As the agent it serves on standard input and output until the input ends
// or the process receives SIGTERM, SIGINT or SIGHUP, writes errors to
// standard error, and exits with status 0 after a clean end and 1
// otherwise. With [LingerArg] it also leaves a process that lingers (see
// the package documentation).
func Handle() {
	handled.Store(true)
	if len(os.Args) < 2 || os.Args[1] != Arg {
		return
	}
	os.Exit(run())
}

func run() int {
	startheap.NoMemProfile()
	startheap.Set(startheap.Limit)
	// A write to a standard output whose reader is gone must fail, not kill
	// the process halfway through an apply.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if d := argDuration(os.Args[2:], LingererArg); d > 0 {
		return runLingerer(ctx, d, log)
	}
	err := Serve(ctx, os.Stdin, os.Stdout, WithLogger(log))
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "zerosync agent:", err)
		return 1
	}
	if d := argDuration(os.Args[2:], LingerArg); d > 0 && ctx.Err() == nil {
		if err := startLingerer(d); err != nil {
			log.Warn("not lingering", "err", err)
		}
	}
	return 0
}

// Handled reports whether [Handle] was called in this process, that is,
// whether this program's executable can serve as the agent on another host.
func Handled() bool { return handled.Load() }

// Option configures [Serve].
type Option func(*config) error

type config struct {
	log      *slog.Logger
	cacheDir string
	home     string
	remote   []remote.Option
	local    []local.Option
	only     string // WithOnlyRoot: the one tree served; "" serves any
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return option.Logger(&c.log, l) }
}

// WithCacheDir keeps the stat caches beneath dir instead of [CacheDir].
func WithCacheDir(dir string) Option {
	return func(c *config) error { return option.NonEmpty(&c.cacheDir, "cache directory", dir) }
}

// WithHome sets the directory relative roots are taken from, instead of
// the user's home directory.
func WithHome(dir string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("home %q is not absolute", dir)
		}
		c.home = dir
		return nil
	}
}

// WithRemoteOptions passes options to [remote.Serve].
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(c *config) error {
		c.remote = append(c.remote, opts...)
		return nil
	}
}

// WithLocalOptions passes options to every [local.Endpoint] the agent
// opens, after its own (name, logger, stat cache): a retention policy for
// the archive, a polling interval.
func WithLocalOptions(opts ...local.Option) Option {
	return func(c *config) error {
		c.local = append(c.local, opts...)
		return nil
	}
}

// OnlyRoot is the name a client opens the tree of an agent serving one
// tree ([WithOnlyRoot]) by.
const OnlyRoot = "."

// WithOnlyRoot serves the one tree at dir, an absolute path, and nothing
// else: the client opens it by the name [OnlyRoot], and every other root
// it asks for is refused with an error wrapping [fs.ErrPermission]. Without
// it the agent serves any directory its user may read, as an agent run
// over SSH by the same user does; with it a host can offer one tree to a
// client it does not otherwise trust with its files.
func WithOnlyRoot(dir string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(dir) || strings.ContainsRune(dir, 0) {
			return fmt.Errorf("the one root %q is not an absolute path", dir)
		}
		c.only = filepath.Clean(dir)
		return nil
	}
}

// CacheDir returns zerosync's cache directory for this user on this host:
// $ZEROSYNC_CACHE_DIR when it is set, else the user's cache directory
// ([os.UserCacheDir]) followed by "zerosync".
func CacheDir() (string, error) {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("agent: cache directory: %w", err)
	}
	return filepath.Join(d, "zerosync"), nil
}

// Serve serves the trees of this host, over r and w, with the protocol of
// transport/remote, until r ends, the client goes away, or ctx is
// cancelled. Each root the client opens is a [local.Endpoint] with its stat
// cache kept in the cache directory; with [WithOnlyRoot] the client may
// open that one tree only. Serve closes r and w when they are
// [io.Closer]s.
func Serve(ctx context.Context, r io.Reader, w io.Writer, opts ...Option) error {
	c := config{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	if c.cacheDir == "" {
		d, err := CacheDir()
		if err != nil {
			return err
		}
		c.cacheDir = d
	}
	if c.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("agent: home directory: %w", err)
		}
		c.home = h
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "agent"
	}
	open := func(ctx context.Context, root string) (zerosync.Endpoint, error) {
		abs, err := c.rootPath(root)
		if c.only != "" {
			if root != OnlyRoot {
				return nil, fmt.Errorf("agent: this host offers one tree, opened as %q; %q is refused: %w", OnlyRoot, root, fs.ErrPermission)
			}
			abs, err = c.only, nil
		}
		if err != nil {
			return nil, err
		}
		cache := c.statCache(abs)
		if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
			// A cache that cannot be kept is no reason to refuse the root.
			c.log.Warn("stat cache directory", "err", err)
		}
		ep, err := local.New(abs, append([]local.Option{
			local.WithName(name),
			local.WithLogger(c.log),
			local.WithStatCache(cache)}, c.local...)...)
		if err != nil {
			return nil, err
		}
		return ep, nil
	}
	// The sums that answer a tree's next scan with a diff wait for it
	// beside the stat caches, in files of their own (see remote.WithSpill).
	spill := filepath.Join(c.cacheDir, "statcache")
	ropts := append([]remote.Option{remote.WithVersion(Version), remote.WithLogger(c.log), remote.WithControl(dialDaemon), remote.WithSpill(spill)}, c.remote...)
	return remote.Serve(ctx, stdio{r: r, w: w}, open, ropts...)
}

// dialDaemon connects to the control socket of the daemon of engine on
// this host, as this user sees it ([ctlsock.Path]: under this process's
// XDG_RUNTIME_DIR); it is the only place the agent relays a client to.
// engine was checked by the protocol ([remote.ValidEngineName]); it is
// checked again here.
func dialDaemon(ctx context.Context, engine string) (io.ReadWriteCloser, error) {
	if err := remote.ValidEngineName(engine); err != nil {
		return nil, err
	}
	path, err := ctlsock.Path(engine)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("no daemon of %s answers on this host: %w", engine, err)
	}
	return c, nil
}

// rootPath makes root absolute: "~", "~/x" and relative paths are taken
// from the home directory.
func (c *config) rootPath(root string) (string, error) {
	switch {
	case root == "" || strings.ContainsRune(root, 0):
		return "", fmt.Errorf("agent: bad root %q", root)
	case root == "~":
		return c.home, nil
	case strings.HasPrefix(root, "~/"):
		return filepath.Join(c.home, root[2:]), nil
	case filepath.IsAbs(root):
		return filepath.Clean(root), nil
	}
	return filepath.Join(c.home, root), nil
}

// statCache names the stat cache file of the root at abs.
func (c *config) statCache(abs string) string {
	d := digest.Sum([]byte(abs))
	return filepath.Join(c.cacheDir, "statcache", d.String()[:32])
}

// stdio joins a reader and a writer into the stream [remote.Serve] wants.
type stdio struct {
	r io.Reader
	w io.Writer
}

func (s stdio) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.w.Write(p) }

// Close closes the writer, then the reader, when they can be closed. Only
// the writer's error counts: the reader may be the same stream.
func (s stdio) Close() error {
	var err error
	if c, ok := s.w.(io.Closer); ok {
		err = c.Close()
	}
	if c, ok := s.r.(io.Closer); ok {
		c.Close()
	}
	return err
}
