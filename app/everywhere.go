package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

// Settings for every host: pause --everywhere, resume --everywhere, stop
// --everywhere, and an engine's own (the project engine's mode), reach the
// same engine's daemon on every peer host, through the SSH connection the
// engine holds (see [control.Everywhere]). They are kept in the state
// directory, so a host that cannot be reached gets them when it is next
// reached, and status lists the hosts that have not applied them yet.

// The keys of the shared settings.
const (
	settingPaused = "paused"
	settingStop   = "stop"
	// settingTrees is the list of trees of an engine that syncs chosen
	// trees (trees add|remove --everywhere), as a JSON array: the list set
	// last wins on every host.
	settingTrees = "trees"
)

// everywhereFile keeps the settings shared with every host.
func (env *Env) everywhereFile() string {
	return filepath.Join(env.StateDir, env.App.Name+".everywhere.json")
}

// newEverywhere returns the shared settings of e: paused (this engine's
// pause flag, and e at once), stop (passed on at once, never retried; stop
// ends the daemon), and the engine's own ([App.Settings]).
func (env *Env) newEverywhere(e *engine.Engine, stop func()) (*control.Everywhere, error) {
	opts := []control.EverywhereOption{
		control.WithEverywhereLogger(env.Log),
		control.WithSetting(settingPaused, false, func(ctx context.Context, v string) error {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("paused=%q: %w", v, err)
			}
			if _, err := env.setPauseFlag(on, false); err != nil {
				return err
			}
			if on {
				e.Pause()
			} else {
				e.Resume()
			}
			return nil
		}),
		control.WithSetting(settingStop, true, func(ctx context.Context, v string) error {
			if stop != nil {
				env.Log.InfoContext(ctx, "stop asked on every host")
				stop()
			}
			return nil
		}),
	}
	if env.App.Trees {
		daemon := e // the daemon's engine follows the trees live
		if stop == nil {
			daemon = nil
		}
		opts = append(opts, control.WithSetting(settingTrees, false, func(ctx context.Context, v string) error {
			return env.applyTreesSetting(ctx, daemon, v)
		}))
	}
	for key, apply := range env.App.Settings {
		opts = append(opts, control.WithSetting(key, false, func(ctx context.Context, v string) error { return apply(ctx, env, v) }))
	}
	return control.NewEverywhere(e, env.everywhereFile(), opts...)
}

// serveEverywhere builds the shared settings of the daemon of e, whose
// stop ends it, and passes them on while ctx lasts; wait waits for that to
// end.
func (env *Env) serveEverywhere(ctx context.Context, e *engine.Engine, stop func()) (ev *control.Everywhere, wait func(), err error) {
	ev, err = env.newEverywhere(e, stop)
	if err != nil {
		return nil, nil, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { ev.Run(ctx) })
	return ev, wg.Wait, nil
}

// SetEverywhere sets key to value on every host of the engine: through
// this host's daemon when one runs (it passes the setting on, and keeps
// passing it to the hosts it could not reach), otherwise by reaching the
// peers' daemons itself once (the hosts it could not reach get it from
// this host's daemon when it starts). key is one of [App.Settings] (an
// engine's own command, such as mode, calls it). It prints how the
// setting stands: the hosts that applied it and those still pending.
func (env *Env) SetEverywhere(ctx context.Context, key, value string) error {
	if env.App.Settings[key] == nil && key != settingPaused && key != settingStop && (key != settingTrees || !env.App.Trees) {
		return fmt.Errorf("%s cannot be set on every host", key)
	}
	st, err := env.setEverywhere(ctx, key, value)
	if err != nil {
		return err
	}
	env.printEverywhere(st)
	return nil
}

// setEverywhere is SetEverywhere without the printing.
func (env *Env) setEverywhere(ctx context.Context, key, value string) (control.SettingStatus, error) {
	if env.ev != nil { // in the daemon, for a client ([Command.Daemon])
		return env.ev.Set(ctx, key, value)
	}
	path, err := control.SocketPath(env.App.Name)
	if err != nil {
		return control.SettingStatus{}, err
	}
	c, err := control.Dial(ctx, path)
	if err == nil {
		defer c.Close()
		resp, err := c.SetEverywhere(ctx, control.SetRequest{Key: key, Value: value})
		if err != nil {
			return control.SettingStatus{}, err
		}
		return resp.Status, nil
	}
	if !errors.Is(err, control.ErrNotRunning) {
		return control.SettingStatus{}, err
	}
	// No daemon: this command reaches the peers itself.
	var st control.SettingStatus
	err = env.withEngine(ctx, func(e *engine.Engine) error {
		ev, err := env.newEverywhere(e, nil)
		if err != nil {
			return err
		}
		if _, err := ev.Set(ctx, key, value); err != nil {
			return err
		}
		ev.Push(ctx)
		for _, s := range ev.Status() {
			if s.Key == key {
				st = s
			}
		}
		return nil
	})
	return st, err
}

// printEverywhere says how a setting stands on the hosts.
func (env *Env) printEverywhere(st control.SettingStatus) {
	fmt.Fprintf(env.Streams.Out, "%s=%s on every host (setting %d)\n", st.Key, Name(st.Value), st.Gen)
	for _, line := range everywhereLines(st) {
		fmt.Fprintln(env.Streams.Out, "  "+line)
	}
}

// everywhereLines says which hosts applied a shared setting and which
// have not yet, one line each, for status and for the command that set
// it.
func everywhereLines(st control.SettingStatus) []string {
	var out []string
	names := func(ns []string) string {
		q := make([]string, len(ns))
		for i, n := range ns {
			q[i] = Name(n)
		}
		return strings.Join(q, ", ")
	}
	if len(st.Reached) > 0 {
		out = append(out, "applied on: this host, "+names(st.Reached))
	} else {
		out = append(out, "applied on: this host")
	}
	for _, p := range st.Pending {
		why := "not reached yet"
		if e := st.Errors[p]; e != "" {
			why = e
		}
		out = append(out, fmt.Sprintf("pending on %s: it gets it when next reached (%s)", Name(p), oneLine(why)))
	}
	return out
}

// oneLine cuts s to its first line, for a line of output.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return strconv.Quote(s)[1 : len(strconv.Quote(s))-1]
}

// stopEverywhere stops the daemon of this engine on every host that can
// be reached now (a stop is never kept for a host that cannot). The stop
// command calls it for --everywhere.
func (env *Env) stopEverywhere(ctx context.Context) error {
	return env.SetEverywhere(ctx, settingStop, time.Now().UTC().Format(time.RFC3339Nano))
}
