package ssh

import (
	"context"
	"fmt"
	"net"
)

// DialControl connects to the daemon of the engine called engine on the
// endpoint's host, over the SSH connection the endpoint holds (it is made
// when there is none, as for any call), through the agent: the agent
// connects to that engine's control socket as its user sees it, and
// relays bytes both ways (see [remote.Client.DialControl]). engine is a
// plain name ([remote.ValidEngineName]). No daemon of that engine on the
// host is an error; so is an agent too old to relay. Close the connection
// when done.
func (e *Endpoint) DialControl(ctx context.Context, engine string) (net.Conn, error) {
	_, ag, err := e.inner(ctx)
	if err != nil {
		return nil, err
	}
	c, err := ag.rpc.DialControl(ctx, engine)
	if err != nil {
		if werr := e.wrap(ag, err); werr != err {
			return nil, werr
		}
		return nil, fmt.Errorf("ssh %s: %w", e.h.hc.alias, err)
	}
	return c, nil
}
