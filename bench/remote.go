package main

import (
	"context"
	"errors"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/ssh"
)

// remoteSpec is how a zerosync endpoint reaches a folder on the benchmark's
// sshd: the same address, login, key and known hosts as rsync and unison.
type remoteSpec struct {
	Addr       string // host:port of the counting proxy
	User       string
	Key        string // client private key file
	KnownHosts string
	// CacheDir is zerosync's cache folder on the host: the agent, which
	// the transport installs there on first contact, and the agent's stat
	// caches.
	CacheDir string
}

// sshEndpoint is an endpoint of transport/ssh that owns its transport:
// closing it closes the connection. The embedded endpoint keeps its
// optional abilities (copy, archive, watch, delta).
type sshEndpoint struct {
	*ssh.Endpoint
	t *ssh.Transport
}

func (e sshEndpoint) Close() error { return errors.Join(e.Endpoint.Close(), e.t.Close()) }

// remoteEndpoint opens path on the host of spec with a transport of its own:
// no ssh configuration, no ssh agent, only the benchmark's key and
// known_hosts.
func remoteEndpoint(ctx context.Context, spec remoteSpec, path string, opts ...ssh.Option) (zerosync.Endpoint, error) {
	t, err := ssh.New(append([]ssh.Option{
		ssh.WithSelfInstall(),
		ssh.WithConfigFile("none"),
		ssh.WithKnownHosts(spec.KnownHosts),
		ssh.WithIdentityFile(spec.Key),
		ssh.WithAgentSocket(""),
		ssh.WithRemoteCacheDir(spec.CacheDir),
		// As the command line does by default: the agent stays ten
		// minutes after its last session (agent_linger).
		ssh.WithAgentLinger(10*time.Minute, ""),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	e, err := t.Endpoint(ctx, spec.User+"@"+spec.Addr, path)
	if err != nil {
		t.Close()
		return nil, err
	}
	return sshEndpoint{Endpoint: e, t: t}, nil
}
