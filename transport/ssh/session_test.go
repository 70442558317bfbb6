package ssh

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// stallingServer is an SSH server on loopback that lets any client in and
// never answers its requests for a session.
func stallingServer(t *testing.T) (addr string, conns chan net.Conn) {
	t.Helper()
	key, _ := newEd25519(t)
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for range chans { // never accepted, never rejected
				}
			}()
		}
	}()
	return l.Addr().String(), conns
}

// dialStalling connects to a stalling server as newConn does.
func dialStalling(t *testing.T, addr string) *sshConn {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	conn := &sshConn{client: c, done: make(chan struct{})}
	go func() {
		c.Wait()
		close(conn.done)
	}()
	return conn
}

// TestNewSessionStalled: a server that never answers a request for a
// session holds us only as long as the context, and not at all once the
// connection ends.
func TestNewSessionStalled(t *testing.T) {
	addr, conns := stallingServer(t)

	conn := dialStalling(t, addr)
	<-conns
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := conn.newSession(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the context's end", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("opening a session the server never answers did not end with its context")
	}

	conn = dialStalling(t, addr)
	server := <-conns
	go func() {
		_, err := conn.newSession(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the request is under way (either way, it must end)
	server.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a session opened on a connection that ended")
		}
	case <-time.After(time.Minute):
		t.Fatal("opening a session did not end when the connection did")
	}
}
