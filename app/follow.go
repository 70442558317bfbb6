package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
)

// followEnd bounds how long a flush through the daemon waits, once
// answered, for the end of its cycle in the event stream (the answer and
// the stream travel apart), so that the display's last frame counts it
// all.
const followEnd = 5 * time.Second

// followed is the backend of a running daemon for once and flush on a
// terminal: its Flush draws the progress display of the daemon's cycle
// from the daemon's event stream (GET /v1/events), as the display of an
// engine the command opened itself is drawn from its events.
type followed struct {
	backend
	c  *control.Client
	co *console
}

// followDaemon returns b, whose display is drawn on co: a daemon's client
// follows its events while it flushes when co draws a display; anything
// else is b as it is.
func followDaemon(b backend, co *console) backend {
	c, ok := b.(*control.Client)
	if !ok || co.progress == nil {
		return b
	}
	return &followed{backend: b, c: c, co: co}
}

// Flush asks the daemon to sync now, following its events meanwhile; the
// display ends before Flush returns, so the report comes below it.
func (f *followed) Flush(ctx context.Context) (control.Report, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := f.c.Events(sctx)
	if err != nil {
		f.co.log.Debug("no progress display: the daemon's events", "err", err)
		return f.c.Flush(ctx)
	}
	var (
		mu      sync.Mutex
		lastEnd time.Time // the start of the last cycle seen ending
		ended   = make(chan struct{}, 1)
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		for {
			ev, err := stream.Next()
			if errors.Is(err, control.ErrDropped) && sctx.Err() == nil {
				// The daemon dropped the stream (this reader fell behind):
				// follow it again; the last frame is the report's.
				stream.Close()
				if stream, err = f.c.Events(sctx); err == nil {
					continue
				}
				stream = nil
			}
			if err != nil {
				return
			}
			f.co.remote(ev)
			if ev.Kind == control.EventCycleEnd && ev.Report != nil {
				mu.Lock()
				lastEnd = ev.Report.Start
				mu.Unlock()
				select {
				case ended <- struct{}{}:
				default:
				}
			}
		}
	})
	var rep control.Report
	defer func() {
		cancel()
		wg.Wait()
		if stream != nil {
			stream.Close()
		}
		f.co.endDisplay(rep)
	}()
	rep, err = f.c.Flush(ctx)
	if rep.Start.IsZero() {
		return rep, err
	}
	t := time.NewTimer(followEnd)
	defer t.Stop()
	for {
		mu.Lock()
		done := !lastEnd.Before(rep.Start)
		mu.Unlock()
		if done {
			return rep, err
		}
		select {
		case <-ended:
		case <-t.C:
			return rep, err
		case <-ctx.Done():
			return rep, err
		}
	}
}

// remote follows one event of the daemon's stream on the display.
func (c *console) remote(ev control.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.progress == nil {
		return
	}
	var kind zerosync.EventKind
	switch ev.Kind {
	case control.EventCycleStart:
		kind = zerosync.EventCycleStart
	case control.EventPlanned:
		kind = zerosync.EventPlanned
	case control.EventApplied:
		kind = zerosync.EventApplied
	case control.EventCycleEnd:
		kind = zerosync.EventCycleEnd
	default:
		return
	}
	out := zerosync.Event{Kind: kind, Peer: ev.Peer}
	for _, a := range ev.Planned {
		out.Planned = append(out.Planned, workOf(a))
	}
	if ev.Action != nil {
		a := workOf(*ev.Action)
		out.Action = &a
	}
	if ev.Report != nil {
		// The last frame counts the whole cycle, events lost included.
		c.progress.settle(reportWork(*ev.Report))
	}
	c.progress.observe(out)
}

// reportWork is what the display counts of what rep applied.
func reportWork(rep control.Report) (files, bytes int64) {
	for _, a := range rep.Applied {
		w := workOf(a)
		f, b := fileWork(&w)
		files, bytes = files+f, bytes+b
	}
	return files, bytes
}

// endDisplay ends a display still drawn, its last frame counting what
// rep, the report of the cycle it showed, applied (events the stream
// lost included).
func (c *console) endDisplay(rep control.Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.progress == nil {
		return
	}
	c.progress.settle(reportWork(rep))
	c.progress.stop()
}

// workOf is what the display counts of an action from the daemon: the
// path, and the kind and size of what it writes.
func workOf(a control.Action) zerosync.Action {
	var out zerosync.Action
	out.Path = string(a.Path)
	if a.New != nil {
		out.New = &zerosync.Entry{Size: a.New.Size}
		switch a.New.Kind {
		case "file":
			out.New.Kind = zerosync.KindFile
		case "dir":
			out.New.Kind = zerosync.KindDir
		case "symlink":
			out.New.Kind = zerosync.KindSymlink
		}
	}
	return out
}
