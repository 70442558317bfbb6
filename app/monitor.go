package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zerosync/zerosync/control"
)

// monitorPoll is how often monitor asks the daemon for its status; events
// redraw the view in between.
const monitorPoll = time.Second

// monitorRecent is how many event lines the live view keeps.
const monitorRecent = 8

// monitor follows the running daemon. On a terminal it shows a live view
// of every peer, redrawn in place as the daemon works: its state, when it
// last synced and how long that took, the changes pending in the cycle
// under way, the conflicts waiting, and what made it fail or halt. Elsewhere
// it prints a line per event (with asJSON, the event as one JSON line). It
// ends when ctx does (a clean end) or when the daemon stops.
func (env *Env) monitor(ctx context.Context, asJSON bool) error {
	c, err := env.needDaemon(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan control.Event, 64)
	ended := make(chan error, 1)
	go func() { ended <- follow(ctx, c, events) }()
	if !isTerminal(env.Streams.Out) {
		return monitorLines(ctx, env.Streams.Out, events, ended, asJSON)
	}
	return env.monitorView(ctx, c, events, ended)
}

// follow sends the daemon's events on out until ctx ends or the daemon
// stops (nil), reconnecting when the daemon dropped a reader that fell
// behind.
func follow(ctx context.Context, c *control.Client, out chan<- control.Event) error {
	defer close(out)
	for {
		s, err := c.Events(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, control.ErrNotRunning) {
				return nil
			}
			return err
		}
		for {
			ev, err := s.Next()
			if err != nil {
				s.Close()
				if errors.Is(err, control.ErrDropped) {
					break
				}
				return nil // the daemon went (io.EOF), or ctx ended
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				s.Close()
				return nil
			}
		}
	}
}

// monitorLines prints a line per event until the events end.
func monitorLines(ctx context.Context, w io.Writer, events <-chan control.Event, ended <-chan error, asJSON bool) error {
	for ev := range events {
		if asJSON {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := w.Write(append(escapeUnprintable(b), '\n')); err != nil {
				return err
			}
			continue
		}
		if line := monitorLine(ev); line != "" {
			if _, err := fmt.Fprintf(w, "%s %s\n", ev.Time.Local().Format("15:04:05"), line); err != nil {
				return err
			}
		}
	}
	if ctx.Err() == nil && !asJSON {
		fmt.Fprintln(w, "the daemon stopped")
	}
	return <-ended
}

// monitorLine is an event as monitor prints it: the line run prints for a
// change, a conflict or a problem, and a line for the start and end of a
// cycle and for an error.
func monitorLine(ev control.Event) string {
	switch ev.Kind {
	case control.EventCycleStart:
		return "cycle started"
	case control.EventPlanned:
		return fmt.Sprintf("with %s: %d change(s) to apply", Name(ev.Peer), len(ev.Planned))
	case control.EventCycleEnd:
		if ev.Report == nil {
			return "cycle ended"
		}
		s := "cycle ended: " + summary(*ev.Report)
		if ev.Error != "" {
			s += "; " + Text(ev.Error)
		}
		return s
	case control.EventError:
		return "error: " + Text(ev.Error)
	}
	return eventLine(ev)
}

// view is what the live view shows: the daemon's last status, and what
// the events since told.
type view struct {
	st      control.Status
	err     string         // why the last status could not be read
	pending map[string]int // changes planned and not yet applied, by peer
	syncing bool           // a cycle is under way
	recent  []string
}

// observe follows one event.
func (v *view) observe(ev control.Event) {
	switch ev.Kind {
	case control.EventCycleStart:
		v.syncing = true
		clear(v.pending)
	case control.EventPlanned:
		v.pending[ev.Peer] = len(ev.Planned)
	case control.EventApplied:
		if v.pending[ev.Peer] > 0 {
			v.pending[ev.Peer]--
		}
	case control.EventCycleEnd:
		v.syncing = false
		clear(v.pending)
	}
	if line := monitorLine(ev); line != "" && ev.Kind != control.EventCycleStart {
		v.recent = append(v.recent, ev.Time.Local().Format("15:04:05")+" "+line)
		if len(v.recent) > monitorRecent {
			v.recent = v.recent[len(v.recent)-monitorRecent:]
		}
	}
}

// render draws the view on w, from its top left corner; now is for the
// times since.
func (v *view) render(w io.Writer, name string, now time.Time) {
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J") // home, clear
	st := v.st
	fmt.Fprintf(&b, "%s: tree %s; paused: %v; %d cycle(s)", name, Name(st.Root), st.Paused, st.Cycles)
	if !st.LastCycle.IsZero() {
		fmt.Fprintf(&b, ", the last %s ago", ago(now, st.LastCycle))
	}
	if v.syncing {
		b.WriteString("; syncing")
	}
	b.WriteString("\n")
	if v.err != "" {
		fmt.Fprintf(&b, "status: %s\n", Text(v.err))
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tSTATE\tLAST SYNC\tLATENCY\tPENDING\tCONFLICTS\tPROBLEM")
	for _, p := range st.Peers {
		last, latency := "-", "-"
		if !p.LastSync.IsZero() {
			last, latency = ago(now, p.LastSync)+" ago", seconds(p.LastDuration)
		}
		problem := "-"
		switch {
		case p.Halted != "":
			problem = "halted: " + Text(p.Halted)
		case p.Error != "":
			problem = Text(p.Error)
		}
		if r := []rune(problem); len(r) > 80 {
			problem = string(r[:77]) + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", Name(p.Name), p.State, last, latency, v.pending[p.Name], p.Conflicts, problem)
	}
	tw.Flush()
	if len(v.recent) > 0 {
		b.WriteString("\nrecent:\n")
		for _, l := range v.recent {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	fmt.Fprintf(&b, "\nCtrl-C quits (the daemon goes on)\n")
	io.WriteString(w, b.String())
}

// ago is the time from t to now, rounded to the second.
func ago(now, t time.Time) string {
	return max(now.Sub(t), 0).Round(time.Second).String()
}

// monitorView shows the live view until ctx ends or the daemon stops.
func (env *Env) monitorView(ctx context.Context, c *control.Client, events <-chan control.Event, ended <-chan error) error {
	v := &view{pending: map[string]int{}}
	w := env.Streams.Out
	poll := func() {
		st, err := c.Status(ctx)
		if err != nil {
			v.err = err.Error()
			return
		}
		v.st, v.err = st, ""
	}
	poll()
	v.render(w, env.App.Name, time.Now())
	t := time.NewTicker(monitorPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				fmt.Fprintln(w, "the daemon stopped")
				return <-ended
			}
			v.observe(ev)
			if ev.Kind == control.EventCycleEnd {
				poll()
			}
		case <-t.C:
			poll()
		}
		v.render(w, env.App.Name, time.Now())
	}
}
