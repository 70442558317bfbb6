package control

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/zerosync/zerosync/internal/ctlsock"
)

// ErrRunning: a daemon already answers on the socket.
var ErrRunning = ctlsock.ErrRunning

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
	l, err := ctlsock.Listen(path, owner)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return l, nil
}

// owner is the daemon, in the socket's messages.
var owner = ctlsock.Owner{Who: "a daemon of this engine", Elsewhere: "set XDG_RUNTIME_DIR to a directory of your own"}

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

// shellWord quotes s for a shell when it needs it ([ctlsock.ShellWord]).
var shellWord = ctlsock.ShellWord
