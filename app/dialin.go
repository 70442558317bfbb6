package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/dialin"
	"github.com/zerosync/zerosync/transport/remote"
	"github.com/zerosync/zerosync/transport/ssh"
)

// Spokes that dial in: a host the hub cannot reach (behind NAT or a
// firewall) runs "ENGINE --root DIR offer --socket PATH HUB", which
// connects to the hub's sshd and offers DIR through a UNIX socket at PATH
// on the hub; the hub names it as a peer "--peer NAME=dialin:SPOKE" (the
// socket at $XDG_RUNTIME_DIR/zerosync/dialin/ENGINE/SPOKE.sock there) or
// "--peer NAME=dialin:/path/to/socket".

// offerLong is the help of offer.
const offerLong = `Offer this host's tree (--root) to a hub that cannot reach this host (it
sits behind NAT or a firewall): connect to HUB over SSH, as for any peer
(host keys verified, ~/.ssh/config honoured), and serve the tree through
the UNIX socket PATH on the hub until interrupted, reconnecting when the
connection drops. The hub may open this tree and no other path of this
host.

On the hub, the peer is dialin:NAME, whose socket is
$XDG_RUNTIME_DIR/zerosync/dialin/ENGINE/NAME.sock there (the hub's commands
print it with -v), or dialin:PATH. Log in to the hub as the user that runs
its engine. The hub's sshd must allow stream-local forwarding (the
default); with "StreamLocalBindUnlink yes" in its sshd_config, a socket
left by a lost connection is replaced at once, and without it offer
removes it through a shell command on the hub.`

// offerCommand is the offer subcommand.
func (a *App) offerCommand(setup func() (*Env, error)) *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use: "offer --socket PATH [USER@]HUB[:PORT]", GroupID: groupSync,
		Short: "offer this tree to a hub that cannot reach this host (NAT, a firewall)",
		Long:  offerLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("offer takes the hub, once; got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if socket == "" {
				return usageErrorf("offer: give --socket PATH, the socket on %s that its peer dialin:NAME listens at (the hub's commands print it with -v)", Name(args[0]))
			}
			env, err := setup()
			if err != nil {
				return err
			}
			return env.offer(cmd.Context(), args[0], socket)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "the `PATH` of the socket on the hub that its peer dialin:NAME listens at")
	return cmd
}

// dialinPrefix starts a peer location reached through a spoke that dials
// in.
const dialinPrefix = "dialin:"

// dialinPeer returns the endpoint of a peer located "dialin:SPOKE" or
// "dialin:/path/to/socket", and false for any other location.
func (env *Env) dialinPeer(p Peer) (*dialin.Endpoint, bool, error) {
	rest, ok := strings.CutPrefix(p.Location, dialinPrefix)
	if !ok {
		return nil, false, nil
	}
	name, socket := rest, rest
	if strings.HasPrefix(rest, "/") {
		name = p.Name
	} else {
		var err error
		if socket, err = dialin.SocketPath(env.App.Name, rest); err != nil {
			return nil, true, fmt.Errorf("peer %s: %w", Name(p.Name), err)
		}
	}
	ep, err := dialin.New(name, socket, dialin.WithLogger(env.Log),
		dialin.WithRemoteOptions(remote.WithBandwidthLimit(env.peerBandwidth(p.Name))))
	if err != nil {
		return nil, true, fmt.Errorf("peer %s: %w", Name(p.Name), err)
	}
	env.Log.Info("spoke dials in", "peer", p.Name, "socket", socket)
	return ep, true, nil
}

// offer serves this host's tree to hub through the socket there, until
// ctx ends.
func (env *Env) offer(ctx context.Context, hub, socket string) error {
	serve, err := dialin.Server(env.Root, agent.WithLogger(env.Log),
		agent.WithRemoteOptions(remote.WithBandwidthLimit(env.peerBandwidth(""))))
	if err != nil {
		return err
	}
	tr, err := ssh.New(sshOptions(env.Log)...)
	if err != nil {
		return err
	}
	defer tr.Close()
	fmt.Fprintf(env.Streams.Out, "%s: offering %s to %s at %s; Ctrl-C stops\n", env.App.Name, Name(env.Root), Name(hub), Name(socket))
	err = tr.Offer(ctx, hub, socket, serve)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// dialinAdvice says what to run on a spoke that has not dialed in.
func dialinAdvice(name string, err error) string {
	var away *dialin.AwayError
	if !errors.As(err, &away) {
		return ""
	}
	return fmt.Sprintf("on the spoke, run: %s --root DIR offer --socket %s HUB", name, shellQuote(away.Socket))
}
