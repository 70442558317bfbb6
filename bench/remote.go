package main

import (
	"context"
	"errors"

	"github.com/zerosync/zerosync"
)

// remoteSpec is how a zerosync endpoint reaches a folder on the benchmark's
// sshd: the same address, login, key and known hosts as rsync and unison.
type remoteSpec struct {
	Addr       string // host:port of the counting proxy
	User       string
	Key        string // client private key file
	KnownHosts string
}

// errSSHPending is returned while zerosync has no SSH transport: the
// ssh-mode zerosync figures are then reported as pending.
var errSSHPending = errors.New("zerosync over SSH: transport/ssh has not landed yet")

// sshPending reports whether zerosync cannot yet run over SSH.
func sshPending() bool { return true }

// remoteEndpoint opens path on the remote side of spec.
//
// SSH WORKLOADS: this is the one place to fill in when transport/ssh lands:
// dial spec.Addr as spec.User with spec.Key, verify the host against
// spec.KnownHosts, and return the endpoint for path; then make sshPending
// return false. Everything else (the engine, the cold-process child, the
// workloads and the table) already handles the ssh mode.
func remoteEndpoint(ctx context.Context, spec remoteSpec, path string) (zerosync.Endpoint, error) {
	return nil, errSSHPending
}
