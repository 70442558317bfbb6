package control

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// mtimeSlack is how far a file's mtime may lag behind the clock that
// stamps cycles: file systems stamp with a coarse clock, a tick behind.
const mtimeSlack = time.Second

// metricsBuffer is how many events the metrics may fall behind the engine.
const metricsBuffer = 4096

// The cycle results of zerosync_cycles_total.
const (
	resultOK       = "ok"
	resultProblems = "problems"
	resultError    = "error"
)

// metrics are the Prometheus metrics of one engine, served on GET /metrics
// in the text format. Counters and histograms follow the engine's events,
// a moment behind the cycle that emitted them; gauges are read from the
// engine when scraped. Every metric has the label
// engine.
//
//	zerosync_cycles_total{result}                 cycles, by result: ok, problems (a path failed), error (a pair stopped)
//	zerosync_transferred_bytes_total              file content moved between trees
//	zerosync_cycle_duration_seconds               histogram of cycle durations
//	zerosync_changes_applied_total{peer}          changes applied, by pair
//	zerosync_conflicts_total{peer}                conflicts met, by pair
//	zerosync_problems_total{peer}                 per-path problems, by pair (or tree)
//	zerosync_propagation_seconds{peer}            histogram of the time from a file's edit (its mtime) to its apply on the other side
//	zerosync_conflicts_waiting{peer}              conflicts waiting for a person
//	zerosync_pair_halted{peer}                    1 while the pair is halted until a person acts
//	zerosync_peer_up{peer}                        1 when the pair's last sync succeeded
//	zerosync_peer_last_sync_timestamp_seconds{peer}
//	zerosync_peer_last_sync_duration_seconds{peer}
//	zerosync_paused                               1 while the engine is paused
//	zerosync_event_readers_dropped_total          event stream readers dropped for falling behind
//
// Propagation is measured only for files edited after the previous cycle
// began, give or take a second (older files were not waiting on the engine), with the clock of
// the host the file came from: across hosts it is as exact as their clocks
// agree.
type metrics struct {
	e   *engine.Engine
	log *slog.Logger
	reg *prometheus.Registry

	cycles      *prometheus.CounterVec
	bytes       prometheus.Counter
	cycleDur    prometheus.Histogram
	applied     *prometheus.CounterVec
	conflicts   *prometheus.CounterVec
	problems    *prometheus.CounterVec
	propagation *prometheus.HistogramVec
	dropped     prometheus.Counter

	// prevStart and curStart are the starts of the previous and the
	// current cycle (only follow's goroutine uses them).
	prevStart, curStart time.Time
}

func newMetrics(e *engine.Engine, log *slog.Logger) (*metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	r := prometheus.WrapRegistererWith(prometheus.Labels{"engine": e.Name()}, reg)
	m := &metrics{e: e, log: log, reg: reg,
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zerosync_cycles_total",
			Help: "Sync cycles completed, by result: ok, problems (some paths failed), error (a pair stopped)."}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "zerosync_transferred_bytes_total",
			Help: "File content moved between trees, in bytes."}),
		cycleDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "zerosync_cycle_duration_seconds",
			Help: "How long sync cycles took.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12)}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zerosync_changes_applied_total",
			Help: "Changes applied, by peer of the pair."}, []string{"peer"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zerosync_conflicts_total",
			Help: "Conflicts met, by peer of the pair."}, []string{"peer"}),
		problems: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "zerosync_problems_total",
			Help: "Paths a cycle could not sync, by peer of the pair or tree."}, []string{"peer"}),
		propagation: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "zerosync_propagation_seconds",
			Help:    "Time from a file's modification (its mtime, by the clock of its host) to its apply on the other side, for files modified since the previous cycle began.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"peer"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "zerosync_event_readers_dropped_total",
			Help: "Readers of the event stream dropped because they fell behind."}),
	}
	for _, c := range []prometheus.Collector{m.cycles, m.bytes, m.cycleDur, m.applied, m.conflicts, m.problems, m.propagation, m.dropped, gauges{m}} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	for _, res := range []string{resultOK, resultProblems, resultError} {
		m.cycles.WithLabelValues(res)
	}
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)})
}

// start subscribes to the engine's events now and counts them in a
// goroutine until ctx ends. Should it fall behind and be dropped, it
// subscribes again and says so in the log.
func (m *metrics) start(ctx context.Context) {
	ch, cancel := m.e.Subscribe(metricsBuffer)
	go func() {
		for {
			m.drain(ctx, ch)
			cancel()
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("metrics fell behind the engine's events; some were not counted")
			ch, cancel = m.e.Subscribe(metricsBuffer)
		}
	}()
}

func (m *metrics) drain(ctx context.Context, ch <-chan zerosync.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			m.observe(ev)
		}
	}
}

// observe counts one event.
func (m *metrics) observe(ev zerosync.Event) {
	switch ev.Kind {
	case zerosync.EventCycleStart:
		m.prevStart, m.curStart = m.curStart, ev.Time
	case zerosync.EventApplied:
		m.applied.WithLabelValues(ev.Peer).Inc()
		if a := ev.Action; a != nil && a.New != nil && a.New.Kind == zerosync.KindFile && !m.prevStart.IsZero() &&
			!a.New.ModTime.Before(m.prevStart.Add(-mtimeSlack)) {
			if d := ev.Time.Sub(a.New.ModTime); d >= 0 {
				m.propagation.WithLabelValues(ev.Peer).Observe(d.Seconds())
			}
		}
	case zerosync.EventConflict:
		m.conflicts.WithLabelValues(ev.Peer).Inc()
	case zerosync.EventProblem:
		m.problems.WithLabelValues(ev.Peer).Inc()
	case zerosync.EventCycleEnd:
		res := resultOK
		switch {
		case ev.Err != nil:
			res = resultError
		case ev.Report != nil && len(ev.Report.Problems) > 0:
			res = resultProblems
		}
		m.cycles.WithLabelValues(res).Inc()
		if r := ev.Report; r != nil {
			m.bytes.Add(float64(r.Bytes))
			if !r.End.IsZero() {
				m.cycleDur.Observe(r.End.Sub(r.Start).Seconds())
			}
		}
	}
}

// gauges reads the engine's state when scraped.
type gauges struct{ m *metrics }

var (
	descWaiting  = prometheus.NewDesc("zerosync_conflicts_waiting", "Conflicts waiting for a person, by peer of the pair.", []string{"peer"}, nil)
	descHalted   = prometheus.NewDesc("zerosync_pair_halted", "1 while the pair is halted until a person acts.", []string{"peer"}, nil)
	descUp       = prometheus.NewDesc("zerosync_peer_up", "1 when the pair's last sync succeeded.", []string{"peer"}, nil)
	descLastSync = prometheus.NewDesc("zerosync_peer_last_sync_timestamp_seconds", "When the pair last finished syncing, in Unix time.", []string{"peer"}, nil)
	descLastDur  = prometheus.NewDesc("zerosync_peer_last_sync_duration_seconds", "How long the pair's last sync took.", []string{"peer"}, nil)
	descPaused   = prometheus.NewDesc("zerosync_paused", "1 while the engine is paused.", nil, nil)
)

func (g gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWaiting, descHalted, descUp, descLastSync, descLastDur, descPaused} {
		ch <- d
	}
}

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, b(g.m.e.Status().Paused))
	peers, err := g.m.e.Peers(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descWaiting, err)
		return
	}
	for _, p := range peers {
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(p.Review), p.Name)
		ch <- prometheus.MustNewConstMetric(descHalted, prometheus.GaugeValue, b(p.Halted != nil), p.Name)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, b(p.Err == nil && p.Halted == nil && !p.LastSync.IsZero()), p.Name)
		if !p.LastSync.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSync, prometheus.GaugeValue, float64(p.LastSync.UnixNano())/1e9, p.Name)
			ch <- prometheus.MustNewConstMetric(descLastDur, prometheus.GaugeValue, p.Duration.Seconds(), p.Name)
		}
	}
}
