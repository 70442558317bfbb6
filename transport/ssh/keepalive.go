package ssh

import (
	"time"
)

// requester is the part of an SSH connection keepalives use; an
// *ssh.Client is one.
type requester interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error)
	Close() error
}

// keepalive sends a keepalive@openssh.com request every interval over c
// until done is closed, and closes c when a request went unanswered for
// max intervals during which no byte moved on the connection either way
// (moved counts them): an answer queued behind a large transfer is late,
// not missing, and a peer that takes our bytes is alive. Any answer, even
// a refusal, proves the connection alive. It returns when done is closed
// or c was closed.
func keepalive(c requester, interval time.Duration, max int, done <-chan struct{}, moved func() int64, answered func(), dead func(why string)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	reply := make(chan error, 1)
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		last, silent := moved(), 0
	wait:
		for {
			select {
			case err := <-reply:
				if err != nil {
					// The connection is already closed; Wait reports it.
					return
				}
				answered()
				break wait
			case <-tick.C:
				if n := moved(); n != last {
					last, silent = n, 0
					continue
				}
				if silent++; silent >= max {
					dead("no answer to keepalives")
					c.Close()
					return
				}
			case <-done:
				return
			}
		}
	}
}
