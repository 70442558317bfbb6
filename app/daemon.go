package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh"
)

// Serve starts the control server of e, the engine env built, on the
// engine's socket ([control.SocketPath] of its name), so that the command
// line and scripts reach the running daemon (see package control). Run
// the engine with runCtx: it ends when ctx does or when a client asks the
// daemon to stop. stop shuts the server down, removes the socket and
// closes the peers attached through it; call it once Run returned. Peers
// attached through the socket are opened as --peer opens them (a
// directory, or a folder over SSH); a daemon of the same engine already
// running is an error wrapping [control.ErrRunning].
func Serve(ctx context.Context, env *Env, e *engine.Engine) (runCtx context.Context, stop func(), err error) {
	path, err := control.SocketPath(env.App.Name)
	if err != nil {
		return nil, nil, err
	}
	l, err := control.Listen(path)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	att := &attacher{env: env, eps: map[string]zerosync.Endpoint{}}
	locs := map[string]string{}
	for _, p := range env.Peers {
		locs[p.Name] = p.Location
	}
	ev, evWait, err := env.serveEverywhere(runCtx, e, cancel) // settings for every host (everywhere.go)
	if err != nil {
		cancel()
		l.Close()
		return nil, nil, err
	}
	srv, err := control.New(e, control.WithEverywhere(ev),
		control.WithCommands(env.commandFunc(e, ev)), // an engine's own commands (own.go)
		control.WithLogger(env.Log),
		control.WithAttacher(att),
		control.WithAdvice(func(err error) string { return Advice(env.App.Name, err) }),
		control.WithStop(cancel),
		control.WithState(env.State),
		control.WithLocations(locs))
	if err != nil {
		cancel()
		l.Close()
		return nil, nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			env.Log.Error("control socket stopped", "socket", path, "err", err)
		}
	}()
	env.Log.Info("control socket ready", "socket", path)
	var once sync.Once
	return runCtx, func() {
		once.Do(func() {
			cancel()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil {
				env.Log.Warn("control socket shutdown", "err", err)
			}
			<-served
			evWait()
			att.close()
		})
	}, nil
}

// attacher opens the peers attached through the control socket as
// [Env.Engine] opens those of --peer, and closes them when detached.
type attacher struct {
	env *Env

	mu  sync.Mutex
	tr  *ssh.Transport
	eps map[string]zerosync.Endpoint
}

func (a *attacher) Attach(ctx context.Context, name, location string) (zerosync.Endpoint, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if target, root, ok := remoteLocation(location); ok {
		if a.tr == nil {
			tr, err := a.env.sshTransport()
			if err != nil {
				return nil, err
			}
			a.tr = tr
		}
		ep, err := a.tr.Endpoint(ctx, target, root)
		if err != nil {
			return nil, fmt.Errorf("peer %s: %w", Name(name), err)
		}
		a.eps[name] = ep
		return ep, nil
	}
	dir, err := expandHome(location)
	if err != nil {
		return nil, err
	}
	cache := filepath.Join(a.env.StateDir, a.env.App.Name+"-"+name+".cache")
	ep, err := local.New(dir, local.WithName(name), local.WithLogger(a.env.Log), local.WithStatCache(cache))
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", Name(name), err)
	}
	a.eps[name] = ep
	return ep, nil
}

// Detach closes the peer's endpoint if Attach opened it; those of --peer
// are closed when the command ends.
func (a *attacher) Detach(ctx context.Context, name string) error {
	a.mu.Lock()
	ep := a.eps[name]
	delete(a.eps, name)
	a.mu.Unlock()
	if ep == nil {
		return nil
	}
	return ep.Close()
}

// close closes every endpoint Attach opened, and the SSH transport.
func (a *attacher) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, ep := range a.eps {
		if err := ep.Close(); err != nil {
			a.env.Log.Warn("close an attached peer", "peer", name, "err", err)
		}
	}
	a.eps = nil
	if a.tr != nil {
		a.tr.Close()
	}
}
