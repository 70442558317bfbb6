package engine

import (
	"context"
	"errors"

	"github.com/zerosync/zerosync"
)

// haltable reports whether err stops a pair until a person acts: retrying
// cannot help, and a supervisor should learn of it.
func haltable(err error) bool {
	for _, target := range []error{zerosync.ErrRootMissing, zerosync.ErrRootChanged, zerosync.ErrForeignState, zerosync.ErrRootEmpty, zerosync.ErrMassDeletion} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// halt stops the pair with peer until a person acts, saying why once.
func (e *Engine) halt(ctx context.Context, peer string, err error) {
	e.mu.Lock()
	if e.halted == nil {
		e.halted = map[string]error{}
	}
	_, was := e.halted[peer]
	e.halted[peer] = err
	e.mu.Unlock()
	if !was {
		e.log.ErrorContext(ctx, "pair halted until a person acts", "peer", peer, "err", err)
	}
}

// isHalted reports whether the pair with peer is halted.
func (e *Engine) isHalted(peer string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.halted[peer]
	return ok
}

// unhalt lets the pair with peer sync again.
func (e *Engine) unhalt(peer string) {
	e.mu.Lock()
	delete(e.halted, peer)
	e.mu.Unlock()
}

// allHalted returns the reasons when every pair is halted, else nil.
func (e *Engine) allHalted() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, p := range e.pairs {
		err, ok := e.halted[p.peer.Name]
		if !ok {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
