package ssh

import (
	"context"
	"errors"
	"fmt"
	"github.com/zerosync/zerosync/transport/remote"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// clientVersion is the SSH version string the transport sends.
const clientVersion = "SSH-2.0-zerosync_" + remote.AgentVersion

// dial connects to h through its ProxyJump hops and returns the client,
// and the TCP connection (to the first hop) that carries it; closing the
// client closes the hops. Every hop's host key is verified and every hop
// authenticated as the configuration says.
func (t *Transport) dial(ctx context.Context, h *hostConfig) (*ssh.Client, *countingConn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.dialTimeout)
	defer cancel()
	hops := append(append([]*hostConfig(nil), h.jump...), h)
	var clients []*ssh.Client
	var tcp *countingConn
	closeAll := func() {
		for i := len(clients) - 1; i >= 0; i-- {
			clients[i].Close()
		}
	}
	for i, hop := range hops {
		var conn net.Conn
		var err error
		if i == 0 {
			var d net.Dialer
			conn, err = d.DialContext(ctx, "tcp", hop.addr())
			if err == nil {
				t.stats.dials.Add(1)
				tcp = &countingConn{Conn: conn, sent: &t.stats.sent, received: &t.stats.received, ack: quickAck(conn)}
				conn = tcp
			}
		} else {
			conn, err = clients[i-1].DialContext(ctx, "tcp", hop.addr())
		}
		if err != nil {
			closeAll()
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				err = fmt.Errorf("%w (%w)", cerr, err)
			}
			return nil, nil, fmt.Errorf("ssh: connect to %s: %w", hop.addr(), err)
		}
		c, err := t.handshake(ctx, conn, hop, i == 0)
		if err != nil {
			conn.Close()
			closeAll()
			return nil, nil, err
		}
		clients = append(clients, c)
	}
	final := clients[len(clients)-1]
	if len(clients) > 1 {
		go func() {
			final.Wait()
			closeAll()
		}()
	}
	return final, tcp, nil
}

// handshake runs the SSH handshake of one hop over conn, bounded by ctx.
func (t *Transport) handshake(ctx context.Context, conn net.Conn, h *hostConfig, direct bool) (*ssh.Client, error) {
	files := h.knownHosts
	if files == nil {
		files = t.cfg.knownHosts
	}
	if t.cfg.tofu != "" && !slices.Contains(files, t.cfg.tofu) {
		files = append(append([]string(nil), files...), t.cfg.tofu)
	}
	hk := &hostKeys{files: files, tofu: t.cfg.tofu, mu: &t.tofuMu, log: t.log.Warn}
	var refused *HostKeyError
	cb, algos, err := hk.callback(h.keyName(), direct, &refused)
	if err != nil {
		return nil, err
	}
	kr := t.cfg.keys(h)
	defer kr.closer()
	var authStarted atomic.Bool
	cfg := &ssh.ClientConfig{
		User: h.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			authStarted.Store(true)
			return kr.signers, nil
		})},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
		ClientVersion:     clientVersion,
	}
	cfg.Ciphers = ciphers(t.hasAESGCM)

	// The handshake has no context of its own: a deadline bounds it and
	// cancellation closes the connection.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, h.keyName(), cfg)
	stopped := stop()
	conn.SetDeadline(time.Time{})
	switch {
	case refused != nil:
		refused.Alias = h.alias
		return nil, refused
	case err != nil && !stopped:
		return nil, fmt.Errorf("ssh: %s: %w", h, ctx.Err())
	case err != nil && authStarted.Load() && strings.Contains(err.Error(), "unable to authenticate"):
		return nil, &AuthError{User: h.user, Host: h.keyName(), Alias: h.alias, Offered: kr.offered, Skipped: kr.skipped, Err: err, pubFile: kr.pubFile, port: strconv.Itoa(h.port)}
	case err != nil:
		return nil, fmt.Errorf("ssh: %s: %w", h, err)
	}
	t.log.Debug("connected", "host", h.String(), "server", string(c.ServerVersion()))
	return ssh.NewClient(c, chans, reqs), nil
}

// countingConn counts the bytes that cross a connection, in the
// transport's totals and its own.
type countingConn struct {
	net.Conn
	sent, received *atomic.Int64
	moved          atomic.Int64 // bytes either way on this connection
	// ack, when set, is called before each read: see [quickAck].
	ack func()
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.ack != nil {
		c.ack()
	}
	n, err := c.Conn.Read(p)
	c.received.Add(int64(n))
	c.moved.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	c.moved.Add(int64(n))
	return n, err
}
