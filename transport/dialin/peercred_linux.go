package dialin

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
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
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("reading who accepts on it: %w", cerr)
	}
	if int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("the process accepting on it (pid %d) runs as user id %d, not as this user (%d); refusing it", cred.Pid, cred.Uid, os.Getuid())
	}
	return nil
}
