package ctlsock

import (
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

	"golang.org/x/sys/unix"
)

// ErrRunning: another process answers on the socket, or holds its lock.
var ErrRunning = errors.New("already running")

// Owner says, in messages, who listens on a socket and where else it
// could: Who is "a daemon of this engine", Elsewhere what a person does
// to use another directory ("set XDG_RUNTIME_DIR to a directory of your
// own").
type Owner struct {
	Who, Elsewhere string
}

// Listen opens the UNIX socket at path after checking that nobody else
// can reach it: the socket's directory is made (mode 0700) when missing,
// and refused when it is not a directory of its own (a symlink), not owned
// by this user, or open to the group or others. The socket is made mode
// 0600. A lock file beside it (path less ".sock", plus ".lock") is held
// while the listener is open, so a second listener fails with an error
// wrapping [ErrRunning]; so does a socket on which a process answers. A
// socket left by a process that died (nothing listening) is replaced; any
// other file at path is refused. Closing the listener removes the socket,
// while it is still this listener's, and releases the lock. Connections
// from other users (root aside) are refused as they come.
func Listen(path string, o Owner) (*Listener, error) {
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("make the socket directory: %w", err)
	}
	if err := CheckDir(dir, os.Getuid(), o); err != nil {
		return nil, err
	}
	lock, err := lockFile(strings.TrimSuffix(path, ".sock")+".lock", o)
	if err != nil {
		return nil, err
	}
	l, err := listenUnix(path, o)
	if err != nil {
		lock.Close()
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		l.Close()
		lock.Close()
		return nil, err
	}
	return &Listener{UnixListener: l, path: path, fi: fi, lock: lock, uid: os.Getuid()}, nil
}

// CheckDir refuses a socket directory that another user could reach or
// replace: anything but a directory owned by uid with no group or other
// permission bits.
func CheckDir(dir string, uid int, o Owner) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("socket directory %q is not a directory (%s); remove it and start again", dir, fi.Mode().Type())
	case !ok:
		return fmt.Errorf("socket directory %q: owner unknown", dir)
	case int(st.Uid) != uid:
		return fmt.Errorf("socket directory %q belongs to user %d, not to this user (%d); refusing to serve there: remove it, or %s", dir, st.Uid, uid, o.Elsewhere)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("socket directory %q has mode %04o: other users can reach it; refusing to serve there: make it yours alone with: chmod 700 %s", dir, fi.Mode().Perm(), ShellWord(dir))
	}
	return nil
}

// lockFile takes an exclusive lock on path, made 0600 when missing.
func lockFile(path string, o Owner) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is %w (it holds %s)", o.Who, ErrRunning, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// listenUnix listens at path, replacing a stale socket.
func listenUnix(path string, o Owner) (*net.UnixListener, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s exists and is not a socket (%s); refusing to replace it", path, fi.Mode().Type())
	default:
		d := net.Dialer{Timeout: time.Second}
		if c, err := d.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is %w on %s", o.Who, ErrRunning, path)
		}
		// A stale socket: the rename below replaces it.
	}
	// The socket is made under a name of its own and renamed into place
	// once it listens and has its mode: a socket bound at path is there
	// before it listens, and a client that comes in between would be
	// refused and take the listener for dead. The lock held makes the name
	// this listener's; one left by a listener that died is removed.
	fresh := path + ".new"
	if err := os.Remove(fresh); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove a socket left half made: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: fresh, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// Closing the listener removes the socket at path (Listener.Close),
	// not the name it was made under.
	l.SetUnlinkOnClose(false)
	err = os.Chmod(fresh, 0o600)
	if err == nil {
		err = os.Rename(fresh, path)
	}
	if err != nil {
		l.Close()
		os.Remove(fresh)
		return nil, err
	}
	return l, nil
}

// Listener is a socket [Listen] made: it holds the lock while open and
// accepts only connections of its user (or root).
type Listener struct {
	*net.UnixListener
	path string
	fi   os.FileInfo // the socket as made
	lock *os.File
	uid  int

	once sync.Once
	err  error // of the first Close
}

// Accept returns the next connection from this user or root, closing any
// other.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if uid, _, err := Peer(c); err == nil && (uid == l.uid || uid == 0) {
			return c, nil
		}
		c.Close()
	}
}

// Lost reports whether the socket at the listener's path is gone or is
// another one (its directory removed and made again): no client reaches
// this listener any more.
func (l *Listener) Lost() bool {
	fi, err := os.Lstat(l.path)
	return err != nil || !os.SameFile(fi, l.fi)
}

// Close removes the socket, while it is this listener's, and closes it,
// then releases the lock; the socket goes first, so that a client finds
// no socket rather than one that refuses it.
func (l *Listener) Close() error {
	l.once.Do(func() {
		if !l.Lost() {
			if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.err = fmt.Errorf("remove the socket: %w", err)
			}
		}
		if err := l.UnixListener.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.lock.Close()
	})
	return l.err
}

// ShellWord quotes s for a shell when it needs it: in single quotes when
// it is printable, Go-quoted otherwise (never raw on a terminal).
func ShellWord(s string) string {
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
