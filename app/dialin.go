package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/dialin"
	"github.com/zerosync/zerosync/transport/ssh"
)

// Spokes that dial in: a host the hub cannot reach (behind NAT or a
// firewall) runs "ENGINE --root DIR offer --socket PATH HUB", which
// connects to the hub's sshd and offers DIR through a UNIX socket at PATH
// on the hub; the hub names it as a peer "--peer NAME=dialin:SPOKE" (the
// socket at $XDG_RUNTIME_DIR/zerosync/dialin/ENGINE/SPOKE.sock there) or
// "--peer NAME=dialin:/path/to/socket".

const dialinUsage = `usage: offer --socket PATH [USER@]HUB[:PORT]
  Offers this host's tree (--root) to the hub, which cannot reach this host:
  connects to HUB over SSH and serves the tree through the UNIX socket PATH
  on the hub until interrupted, reconnecting when the connection drops. On
  the hub the peer is dialin:NAME, whose socket is
  $XDG_RUNTIME_DIR/zerosync/dialin/ENGINE/NAME.sock there (the hub's
  commands print it with -v), or dialin:PATH.`

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
	ep, err := dialin.New(name, socket, dialin.WithLogger(env.Log))
	if err != nil {
		return nil, true, fmt.Errorf("peer %s: %w", Name(p.Name), err)
	}
	env.Log.Info("spoke dials in", "peer", p.Name, "socket", socket)
	return ep, true, nil
}

// offer serves this host's tree to a hub through a socket there, until
// ctx ends.
func (env *Env) offer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("offer", flag.ContinueOnError)
	fs.SetOutput(env.Streams.Err)
	fs.Usage = func() { fmt.Fprintln(env.Streams.Err, dialinUsage) }
	socket := fs.String("socket", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("offer: give the hub, once")
	}
	hub := fs.Arg(0)
	if *socket == "" {
		return fmt.Errorf("offer: give --socket PATH, the socket on %s that its peer dialin:NAME listens at (the hub's commands print it with -v)", Name(hub))
	}
	serve, err := dialin.Server(env.Root, agent.WithLogger(env.Log))
	if err != nil {
		return err
	}
	tr, err := ssh.New(sshOptions(env.Log)...)
	if err != nil {
		return err
	}
	defer tr.Close()
	fmt.Fprintf(env.Streams.Out, "%s: offering %s to %s at %s; Ctrl-C stops\n", env.App.Name, Name(env.Root), Name(hub), Name(*socket))
	err = tr.Offer(ctx, hub, *socket, serve)
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
