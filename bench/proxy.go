package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxy is a TCP forwarder on a loopback port that counts the bytes passing
// through it in each direction. Every tool's SSH connection goes through it,
// so "bytes on the wire" is one measure for all of them: the encrypted
// stream, with SSH's own framing and handshakes.
type proxy struct {
	ln     net.Listener
	target string
	up     atomic.Int64 // client to server
	down   atomic.Int64 // server to client
	active atomic.Int64 // open connections
	wg     sync.WaitGroup
}

// newProxy listens on 127.0.0.1 and forwards every connection to target.
func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.active.Add(1)
		p.wg.Go(func() {
			defer p.active.Add(-1)
			p.forward(c)
		})
	}
}

func (p *proxy) forward(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	var wg sync.WaitGroup
	wg.Go(func() { pipe(s, c, &p.up) })
	pipe(c, s, &p.down)
	wg.Wait()
}

// pipe copies src to dst, adding to n as it goes, and half-closes dst when
// src ends. It copies a MiB at a time so that, on Linux, the bytes move with
// splice(2) and never through this process's memory, while the count stays
// current during a long transfer.
func pipe(dst, src net.Conn, n *atomic.Int64) {
	for {
		k, err := io.CopyN(dst, src, 1<<20)
		n.Add(k)
		if err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// counts returns the bytes counted so far, client to server and back.
func (p *proxy) counts() (up, down int64) { return p.up.Load(), p.down.Load() }

// idle waits until no connection is open (the tools that ran have closed
// theirs and every byte they exchanged is counted), at most until ctx ends.
func (p *proxy) idle(ctx context.Context) error {
	for p.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return errors.New("proxy: connections still open")
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// Close stops accepting; open connections end when their peers close them.
func (p *proxy) Close() error { return p.ln.Close() }
