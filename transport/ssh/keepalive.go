package ssh

import (
	"time"

	"golang.org/x/crypto/ssh"
)

// keepalive sends a keepalive@openssh.com request every interval over c
// until done is closed, and closes c when no answer came within
// interval*max of a request. Any answer, even a refusal, proves the
// connection alive. It returns when done is closed or c was closed.
func keepalive(c *ssh.Client, interval time.Duration, max int, done <-chan struct{}, answered func(), dead func(why string)) {
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
		timeout := time.NewTimer(interval * time.Duration(max))
		select {
		case err := <-reply:
			timeout.Stop()
			if err != nil {
				// The connection is already closed; Wait reports it.
				return
			}
			answered()
		case <-timeout.C:
			dead("no answer to keepalives")
			c.Close()
			return
		case <-done:
			timeout.Stop()
			return
		}
	}
}
