package app

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// notifySystemd tells systemd how the daemon of e stands, when it runs as
// a service of Type=notify (NOTIFY_SOCKET is set; otherwise it does
// nothing): READY=1 once the engine's first cycle ended (or Run runs
// paused), WATCHDOG=1 at half
// of WATCHDOG_USEC for as long as the engine's loop is alive
// ([engine.Engine.Alive]: a loop stuck in a cycle stops the pings, and
// systemd restarts the service), and STOPPING=1 when stop is called. Call
// it before e's Run starts, and stop once Run returned.
func notifySystemd(ctx context.Context, log *slog.Logger, e *engine.Engine) (stop func()) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return func() {}
	}
	notify := func(state string) {
		if _, err := sdnotify.SdNotify(false, state); err != nil {
			log.Warn("systemd notification", "state", state, "err", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	events, unsubscribe := e.Subscribe(engine.DefaultSubscribeBuffer)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer unsubscribe()
		// A daemon started paused runs no cycle: it is ready once Run
		// runs.
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if st := e.Status(); st.Running && st.Paused || st.Cycles > 0 {
					notify(sdnotify.SdNotifyReady)
					return
				}
			case ev, ok := <-events:
				if !ok {
					return
				}
				if ev.Kind == zerosync.EventCycleEnd {
					notify(sdnotify.SdNotifyReady)
					log.Debug("told systemd the daemon is ready")
					return
				}
			}
		}
	})
	interval, err := sdnotify.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog", "err", err)
	}
	if interval > 0 {
		wg.Go(func() {
			t := time.NewTicker(interval / 2)
			defer t.Stop()
			quiet := false
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if e.Alive(interval) {
					notify(sdnotify.SdNotifyWatchdog)
					quiet = false
				} else if !quiet {
					quiet = true
					log.Error("the engine's loop made no progress; no longer telling systemd's watchdog it is alive", "within", interval)
				}
			}
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			notify(sdnotify.SdNotifyStopping)
		})
	}
}
