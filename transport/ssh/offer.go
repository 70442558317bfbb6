package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxSocketPath is the longest path of a UNIX socket, in bytes: the room
// in a socket address on Linux, less the terminating NUL.
const maxSocketPath = 107

// checkSocketPath checks the path of a UNIX socket that [Transport.Offer]
// asks a host to listen on: absolute, clean, at most 107 bytes, and
// without a NUL, a newline or another control character.
func checkSocketPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty socket path")
	case len(p) > maxSocketPath:
		return fmt.Errorf("socket path %q is %d bytes long, over the %d a UNIX socket can have", p, len(p), maxSocketPath)
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("socket path %q holds a control character", p)
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return fmt.Errorf("socket path %q is not an absolute, clean path", p)
	}
	return nil
}

// Offer makes this host reachable from the host target although target
// cannot connect to it (it sits behind NAT or a firewall): Offer connects
// to target and asks its sshd to listen on the UNIX socket socket there
// (OpenSSH's remote stream-local forwarding, as "ssh -R socket:..."
// does). Every connection a process on target makes to that socket
// arrives here as conn and is handed to serve, each in a goroutine of its
// own, with a context that ends when Offer returns; serve owns conn and
// closes it. Host keys are verified, and keys offered, as for
// [Transport.Endpoint]; the connection is Offer's own, not shared with
// endpoints, and watched by keepalives ([WithKeepalive]).
//
// Offer keeps the socket offered until ctx ends, and then returns
// ctx.Err() once every serve has returned. When the connection drops, or
// target refuses to listen, it connects and asks again, after a pause that
// starts at the minimum of [WithBackoff] and doubles with every failed
// attempt up to its maximum. It returns at once, without retrying, when a
// person must act: an unknown or changed host key ([*HostKeyError]), keys
// the host refuses ([*AuthError]), a bad target or ssh configuration, a
// socket path that is not absolute and clean or is over 107 bytes.
//
// The directory holding socket must exist on target: sshd does not make
// it. A socket already there is stale when nothing accepts connections on
// it (its sshd session was killed), and sshd refuses to listen over it
// unless target's sshd_config says "StreamLocalBindUnlink yes". Offer
// then removes it, through a shell command on target, provided it still
// is a socket, and asks again. A socket on which something accepts
// belongs to another offer and is left alone; Offer retries later.
func (t *Transport) Offer(ctx context.Context, target, socket string, serve func(ctx context.Context, conn net.Conn) error) error {
	if serve == nil {
		return errors.New("ssh: offer: nil serve function")
	}
	if err := checkSocketPath(socket); err != nil {
		return fmt.Errorf("ssh: offer: %w", err)
	}
	sc, notes, err := loadSSHConfig(t.cfg.configFiles)
	if err != nil {
		return err
	}
	for _, n := range notes {
		t.log.WarnContext(ctx, "ssh config", "note", n)
	}
	hc, err := t.cfg.resolve(sc, target)
	if err != nil {
		return err
	}
	log := t.log.With("host", hc.String(), "socket", socket)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var backoff time.Duration
	for {
		listened, err := t.offerOnce(ctx, hc, socket, serve, &wg, log)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var hkerr *HostKeyError
		if errors.As(err, &hkerr) || errors.Is(err, ErrAuth) {
			return err
		}
		if listened {
			// A working offer ended: try again soon, but never spin on a
			// connection that dies as soon as it is made.
			backoff = t.cfg.backoffMin
			log.WarnContext(ctx, "offer lost; reconnecting", "err", err, "in", backoff)
		} else {
			backoff = min(max(2*backoff, t.cfg.backoffMin), t.cfg.backoffMax)
			log.WarnContext(ctx, "offer failed", "err", err, "next attempt in", backoff)
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		t.stats.reconnects.Add(1)
	}
}

// offerOnce connects, listens on socket and serves what arrives until the
// connection ends or ctx does. listened says whether target listened.
func (t *Transport) offerOnce(ctx context.Context, hc *hostConfig, socket string, serve func(context.Context, net.Conn) error, wg *sync.WaitGroup, log *slog.Logger) (listened bool, err error) {
	c, tcp, err := t.dial(ctx, hc)
	if err != nil {
		return false, err
	}
	conn := &sshConn{client: c, done: make(chan struct{})}
	go func() {
		c.Wait()
		close(conn.done)
	}()
	defer c.Close()
	if t.cfg.keepalive > 0 {
		go keepalive(c, t.cfg.keepalive, t.cfg.keepaliveMax, conn.done, tcp.moved.Load, func() { t.stats.keepalives.Add(1) }, func(why string) {
			log.Warn("connection dead", "why", why)
		})
	}
	ln, err := listenUnix(ctx, conn, hc, socket, log)
	if err != nil {
		return false, err
	}
	log.InfoContext(ctx, "offering")
	// Ending the offer cancels the forwarding first, so that sshd closes
	// the socket while the connection still carries the request.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		ln.Close()
		c.Close()
	})
	defer func() {
		if !stop() {
			<-closed
		}
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			break
		}
		wg.Go(func() {
			if err := serve(ctx, nc); err != nil && ctx.Err() == nil {
				log.Warn("serving a connection", "err", err)
			}
		})
	}
	select {
	case <-conn.done:
		err = c.Wait()
	default:
		err = errors.New("the host stopped forwarding the socket")
	}
	if err == nil {
		err = errors.New("the host closed the connection")
	}
	return true, fmt.Errorf("ssh: %s: %w", hc, err)
}

// listenUnix asks the host to listen on socket, removing a stale socket
// in the way.
func listenUnix(ctx context.Context, conn *sshConn, hc *hostConfig, socket string, log *slog.Logger) (net.Listener, error) {
	ln, err := conn.client.ListenUnix(socket)
	if err == nil {
		return ln, nil
	}
	refused := fmt.Errorf("ssh: %s refused to listen on %s: %w", hc, socket, err)
	// Does something accept on the socket already?
	probe, perr := conn.client.DialContext(ctx, "unix", socket)
	if perr == nil {
		probe.Close()
		return nil, fmt.Errorf("%w; another process accepts connections on it already (is this tree offered twice?)", refused)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	removed, rerr := removeStaleSocket(ctx, conn, socket)
	switch {
	case rerr != nil:
		return nil, fmt.Errorf("%w; removing a stale socket there failed: %w", refused, rerr)
	case !removed:
		dir := filepath.Dir(socket)
		return nil, fmt.Errorf("%w; there is no socket in the way: the directory %s must exist on the host, and its sshd must allow stream-local forwarding (AllowStreamLocalForwarding)", refused, shellWord(dir))
	}
	log.InfoContext(ctx, "removed a stale socket on the host")
	ln, err = conn.client.ListenUnix(socket)
	if err != nil {
		return nil, fmt.Errorf("ssh: %s refused to listen on %s after its stale socket was removed: %w", hc, socket, err)
	}
	return ln, nil
}

// removeStaleSocket removes socket on the host when it is a socket (not a
// symbolic link, not a file of another kind), and says whether it did.
func removeStaleSocket(ctx context.Context, conn *sshConn, socket string) (bool, error) {
	g := newTag()
	script := g.prelude() + `p=` + shellQuote(socket) + `; ` +
		`if [ -S "$p" ] && [ ! -L "$p" ]; then rm -f -- "$p" && say ` + wordDone + `; else say ` + wordMissing + `; fi`
	out := &answer{tag: g}
	stderr, err := conn.run(ctx, shCommand(script), nil, out)
	if err != nil {
		var xerr *ssh.ExitError
		if errors.As(err, &xerr) {
			return false, fmt.Errorf("%w%s", err, printed(out.other, out.dropped, stderr))
		}
		return false, err
	}
	_, done := out.get(wordDone)
	return done, nil
}
