package ssh

import (
	"net"

	"golang.org/x/sys/unix"
)

// quickAck returns a function that asks the kernel to acknowledge at once
// what arrives on conn next, rather than after the delayed-ACK timer
// (40 ms on Linux), or nil when conn is not a TCP connection. sshd does
// not turn Nagle's algorithm off for a session without a terminal, so
// when it sends two small packets in a row (a reply, then the confirmation
// of a channel) the second waits until the first is acknowledged, and a
// client with nothing to send acknowledges it only when the timer fires:
// opening a session cost 41 ms that way, a cold connection 40–50 ms in
// all (BenchmarkColdNoop). The kernel leaves quick-ack mode by itself, so
// it is asked again before every read; errors are ignored (the
// acknowledgement is only late then).
func quickAck(conn net.Conn) func() {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	set := func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1) }
	return func() { _ = rc.Control(set) }
}
