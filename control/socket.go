package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/zerosync/zerosync/internal/ctlsock"
	"golang.org/x/sys/unix"
)

// ErrRunning: a daemon already answers on the socket.
var ErrRunning = errors.New("already running")

// ErrNotRunning: no daemon answers on the socket.
var ErrNotRunning = errors.New("no daemon is running")

// maxSocketPath is the longest path a UNIX socket address holds on Linux
// (sun_path less its terminating NUL).
const maxSocketPath = 107

// SocketPath returns where the daemon of the engine called name listens:
// $XDG_RUNTIME_DIR/zerosync/NAME.sock, or, when XDG_RUNTIME_DIR is unset
// or not absolute, zerosync-UID/NAME.sock in [os.TempDir]. A name that is
// empty, or that is not one file name (a slash, a NUL, "." or ".."), is an
// error.
func SocketPath(name string) (string, error) {
	return ctlsock.Path(name)
}

// Listen opens the control socket at path for a [Server], after checking
// that nobody else can reach it: the socket's directory is made (mode
// 0700) when missing, and refused when it is not a directory of its own
// (a symlink), not owned by this user, or open to the group or others.
// The socket is made mode 0600. A lock file beside it (path less ".sock",
// plus ".lock") is held while the listener is open, so a second daemon of
// the same engine fails with an error wrapping [ErrRunning]; so does a
// socket on which a daemon answers. A socket left by a daemon that died
// (nothing listening) is replaced; any other file at path is refused.
// Closing the listener removes the socket and releases the lock.
// Connections from other users (root aside) are refused as they come.
func Listen(path string) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control: socket path %q is %d bytes long; a UNIX socket's path holds at most %d (set XDG_RUNTIME_DIR to a shorter directory)", path, len(path), maxSocketPath)
	}
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("control: make the socket directory: %w", err)
	}
	if err := checkDir(dir, os.Getuid()); err != nil {
		return nil, err
	}
	lock, err := lockFile(strings.TrimSuffix(path, ".sock") + ".lock")
	if err != nil {
		return nil, err
	}
	l, err := listenUnix(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &listener{UnixListener: l, path: path, lock: lock, uid: os.Getuid()}, nil
}

// checkDir refuses a socket directory that another user could reach or
// replace: anything but a directory owned by uid with no group or other
// permission bits.
func checkDir(dir string, uid int) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("control: socket directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("control: socket directory %q is not a directory (%s); remove it and start again", dir, fi.Mode().Type())
	case !ok:
		return fmt.Errorf("control: socket directory %q: owner unknown", dir)
	case int(st.Uid) != uid:
		return fmt.Errorf("control: socket directory %q belongs to user %d, not to this user (%d); refusing to serve there: remove it, or set XDG_RUNTIME_DIR to a directory of your own", dir, st.Uid, uid)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("control: socket directory %q has mode %04o: other users can reach it; refusing to serve there: make it yours alone with: chmod 700 %s", dir, fi.Mode().Perm(), shellWord(dir))
	}
	return nil
}

// lockFile takes an exclusive lock on path, made 0600 when missing.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control: lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("control: a daemon of this engine is %w (it holds %s)", ErrRunning, path)
		}
		return nil, fmt.Errorf("control: lock %s: %w", path, err)
	}
	return f, nil
}

// listenUnix listens at path, replacing a stale socket.
func listenUnix(path string) (*net.UnixListener, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("control: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("control: %s exists and is not a socket (%s); refusing to replace it", path, fi.Mode().Type())
	default:
		d := net.Dialer{Timeout: time.Second}
		if c, err := d.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("control: a daemon is %w on %s", ErrRunning, path)
		}
		// A stale socket: the rename below replaces it.
	}
	// The socket is made under a name of its own and renamed into place
	// once it listens and has its mode: a socket bound at path is there
	// before it listens, and a client that comes in between would be
	// refused and take the daemon for dead. The lock held makes the name
	// this daemon's; one left by a daemon that died is removed.
	fresh := path + ".new"
	if err := os.Remove(fresh); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("control: remove a socket left half made: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: fresh, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	// Closing the listener removes the socket at path (listener.Close),
	// not the name it was made under.
	l.SetUnlinkOnClose(false)
	err = os.Chmod(fresh, 0o600)
	if err == nil {
		err = os.Rename(fresh, path)
	}
	if err != nil {
		l.Close()
		os.Remove(fresh)
		return nil, fmt.Errorf("control: %w", err)
	}
	return l, nil
}

// listener is a control socket at path: it holds the lock while open and
// accepts only connections of its user (or root).
type listener struct {
	*net.UnixListener
	path string
	lock *os.File
	uid  int

	once sync.Once
	err  error // of the first Close
}

// Accept returns the next connection from this user or root, closing any
// other.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if uid, _, err := ctlsock.Peer(c); err == nil && (uid == l.uid || uid == 0) {
			return c, nil
		}
		c.Close()
	}
}

// Close removes the socket and closes it, then releases the lock; the
// socket goes first, so that a client finds no socket rather than one
// that refuses it.
func (l *listener) Close() error {
	l.once.Do(func() {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.err = fmt.Errorf("control: remove the socket: %w", err)
		}
		if err := l.UnixListener.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.lock.Close()
	})
	return l.err
}

// Running reports whether a daemon of the engine called name answers on
// its socket ([SocketPath]) before ctx ends.
func Running(ctx context.Context, name string) bool {
	path, err := SocketPath(name)
	if err != nil {
		return false
	}
	c, err := Dial(ctx, path)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// shellWord quotes s for a shell when it needs it: in single quotes when
// it is printable, Go-quoted otherwise (never raw on a terminal).
func shellWord(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+,:@%", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	if s == "" {
		return "''"
	}
	return s
}
