package app

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"github.com/zerosync/zerosync"
)

// A cycle whose plans hold at least progressFiles files or progressBytes
// bytes to write is a long sync: it gets a progress display.
const (
	progressFiles = 200
	progressBytes = 64 << 20
)

// progress is the display of a long sync on a terminal: one bar for the
// work a cycle planned, with the files and bytes applied so far and the time
// left. It is fed the engine's events ([progress.observe]) from one
// goroutine at a time; a cycle's plans arrive pair by pair
// ([zerosync.EventPlanned]), so the totals grow as the cycle goes on.
type progress struct {
	out    io.Writer
	screen *screen

	// What the cycle planned and what of it was applied, read by the
	// display's goroutine.
	files, filesTotal, bytes, bytesTotal atomic.Int64

	p   *mpb.Progress // the display, while one is drawn
	bar *mpb.Bar
	end func(done func())
}

// newProgress returns a display that draws on the terminal out, with lines
// written through s going above it.
func newProgress(out io.Writer, s *screen) *progress { return &progress{out: out, screen: s} }

// fileWork returns what applying a takes, as the display counts it: one
// file and its bytes for a file created or updated, nothing for the rest
// (directories, symlinks, removals are quick).
func fileWork(a *zerosync.Action) (files, bytes int64) {
	if a.New != nil && a.New.Kind == zerosync.KindFile {
		return 1, a.New.Size
	}
	return 0, 0
}

// observe follows one engine event.
func (d *progress) observe(ev zerosync.Event) {
	switch ev.Kind {
	case zerosync.EventCycleStart:
		d.stop()
		d.files.Store(0)
		d.filesTotal.Store(0)
		d.bytes.Store(0)
		d.bytesTotal.Store(0)
	case zerosync.EventPlanned:
		for i := range ev.Planned {
			f, b := fileWork(&ev.Planned[i])
			d.filesTotal.Add(f)
			d.bytesTotal.Add(b)
		}
		if d.bar == nil && (d.filesTotal.Load() >= progressFiles || d.bytesTotal.Load() >= progressBytes) {
			d.start()
		}
		if d.bar != nil {
			d.bar.SetTotal(d.work(d.filesTotal.Load(), d.bytesTotal.Load()), false)
		}
	case zerosync.EventApplied:
		f, b := fileWork(ev.Action)
		d.files.Add(f)
		d.bytes.Add(b)
		if d.bar != nil {
			d.bar.IncrInt64(d.work(f, b))
		}
	case zerosync.EventCycleEnd:
		d.stop()
	}
}

// settle sets what the cycle shown applied, when it is known whole (from
// its report), before the display stops; nothing when none is drawn.
func (d *progress) settle(files, bytes int64) {
	if d.bar == nil || files < d.files.Load() {
		return
	}
	d.files.Store(files)
	d.bytes.Store(bytes)
	d.filesTotal.Store(max(d.filesTotal.Load(), files))
	d.bytesTotal.Store(max(d.bytesTotal.Load(), bytes))
	d.bar.SetCurrent(d.work(files, bytes))
}

// work weighs files and bytes into the bar's one measure: a byte each, and
// a file as much as a byte, so a tree of empty files moves the bar too.
func (d *progress) work(files, bytes int64) int64 { return files + bytes }

// start draws the display.
func (d *progress) start() {
	d.p = mpb.New(mpb.WithOutput(d.out), mpb.WithWidth(100))
	// The bar's total stays open (0) until the cycle ends, so it does not
	// complete between the plans of two pairs.
	d.bar = d.p.AddBar(0,
		mpb.PrependDecorators(decor.Name("syncing ")),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf(" %d/%d files", d.files.Load(), d.filesTotal.Load())
			}),
			decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("  % .1f/% .1f", decor.SizeB1024(d.bytes.Load()), decor.SizeB1024(d.bytesTotal.Load()))
			}),
			decor.OnComplete(decor.Meta(decor.AverageETA(decor.ET_STYLE_GO), func(s string) string { return "  ETA " + s }), "  done"),
		))
	d.bar.SetCurrent(d.work(d.files.Load(), d.bytes.Load()))
	d.end = d.screen.draw(d.p)
}

// stop ends the display, if one is drawn, leaving its last frame on the
// terminal.
func (d *progress) stop() {
	if d.bar == nil {
		return
	}
	p, bar := d.p, d.bar
	d.end(func() {
		bar.SetTotal(-1, true)
		p.Wait()
	})
	d.p, d.bar, d.end = nil, nil, nil
}
