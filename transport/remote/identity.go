package remote

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerosync/zerosync"
)

var (
	_ zerosync.Identifier = (*Endpoint)(nil)
	_ zerosync.Locator    = (*Endpoint)(nil)
)

// identity serves root-id and mark-root with the endpoint's
// [zerosync.Identifier]. The agent's own endpoint makes the replica ID, on
// the agent's host; the client only asks for it.
func (s *server) identity(ctx context.Context, st *stream, r *served, mark bool) error {
	idr, ok := r.ep.(zerosync.Identifier)
	if !ok {
		return fmt.Errorf("root identity: %w", errors.ErrUnsupported)
	}
	var id zerosync.RootID
	var err error
	if mark {
		id, err = idr.MarkRoot(ctx)
	} else {
		id, err = idr.RootID(ctx)
	}
	if err != nil {
		return err
	}
	if err := checkRootID(id); err != nil {
		return fmt.Errorf("the endpoint reported a root identity the wire cannot carry: %w", err)
	}
	if mark && id.Replica == "" {
		return errors.New("the endpoint marked its root but reports no replica ID")
	}
	return st.send(ctx, tResult, encodeRootID(id), false)
}

// Location returns where the root is: the agent's host as the user calls
// it ([WithHost], else [WithName]) and the root as given to
// [Client.Endpoint]. It does no I/O.
func (e *Endpoint) Location() zerosync.Location {
	host := e.c.cfg.host
	if host == "" {
		host = e.c.cfg.name
	}
	return zerosync.Location{Host: host, Path: e.root}
}

// RootID returns the identity of the root on the agent's host, as the
// agent's endpoint reads it; see [zerosync.Identifier]. It fails with an
// error wrapping [errors.ErrUnsupported] when the agent or its endpoint
// cannot tell (an older agent): the caller then goes without identity
// checks. What comes back is checked: a replica ID that
// [zerosync.CheckReplicaID] refuses, or a file system identity that is too
// long or not printable, is a protocol violation.
func (e *Endpoint) RootID(ctx context.Context) (zerosync.RootID, error) {
	return e.identity(ctx, tRootID, "identify")
}

// MarkRoot makes the agent's endpoint give its root a marker when it has
// none, and returns the root's identity; see [zerosync.Identifier]. The
// replica ID is made on the agent's host, never chosen by this side. It
// fails like [Endpoint.RootID], and an answer without a replica ID is a
// protocol violation.
func (e *Endpoint) MarkRoot(ctx context.Context) (zerosync.RootID, error) {
	return e.identity(ctx, tMarkRoot, "mark")
}

func (e *Endpoint) identity(ctx context.Context, typ ftype, op string) (zerosync.RootID, error) {
	id, err := e.askIdentity(ctx, typ)
	if err != nil {
		return zerosync.RootID{}, e.perr(op, ".", err)
	}
	return id, nil
}

func (e *Endpoint) askIdentity(ctx context.Context, typ ftype) (zerosync.RootID, error) {
	if err := e.usable(ctx); err != nil {
		return zerosync.RootID{}, err
	}
	if e.c.caps&capIdentity == 0 || e.abl&ablIdentity == 0 {
		return zerosync.RootID{}, fmt.Errorf("the agent cannot tell the identity of its root: %w", errors.ErrUnsupported)
	}
	st, err := e.c.start(ctx, typ, request{handle: e.handle})
	if err != nil {
		return zerosync.RootID{}, err
	}
	defer e.c.finish(st)
	b, err := e.c.result(ctx, st)
	if err != nil {
		return zerosync.RootID{}, err
	}
	id, err := decodeRootID(b)
	if err == nil && typ == tMarkRoot && id.Replica == "" {
		err = protoErr("the agent marked its root but sent no replica ID")
	}
	if err != nil {
		return zerosync.RootID{}, e.c.violation(err)
	}
	return id, nil
}
