package dialin

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/zerosync/zerosync/internal/ctlsock"
)

// checkPeer refuses a connection whose other end, the process accepting
// on the socket (sshd, for the spoke), runs as another user than this
// one: a socket in a directory only this user may use should never be
// another's, and if it is, the tree behind it is not the spoke's.
func checkPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a UNIX socket connection")
	}
	uid, pid, err := ctlsock.Peer(uc)
	if err != nil {
		return fmt.Errorf("reading who accepts on it: %w", err)
	}
	if uid != os.Getuid() {
		return fmt.Errorf("the process accepting on it (pid %d) runs as user id %d, not as this user (%d); refusing it", pid, uid, os.Getuid())
	}
	return nil
}
