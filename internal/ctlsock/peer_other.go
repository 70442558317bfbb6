//go:build !linux

package ctlsock

import (
	"errors"
	"net"
)

// Peer returns the user and process IDs of the process at the other end
// of c; where the kernel cannot tell, it fails with
// [errors.ErrUnsupported].
func Peer(c *net.UnixConn) (uid, pid int, err error) {
	return 0, 0, errors.ErrUnsupported
}
