package control_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
)

// TestMetrics: after a real sync, the scrape of GET /metrics parses with
// the Prometheus text parser and holds the counters: cycles by result,
// bytes, changes applied, the cycle and propagation histograms, and the
// per-peer gauges.
func TestMetrics(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false))
	writeFile(t, d.dirA, "m.txt", "12345")
	_, err := d.c.Flush(bg)
	require.NoError(t, err)
	writeFile(t, d.dirB, "m.txt", "123456789")
	_, err = d.c.Flush(bg)
	require.NoError(t, err)

	// Scrape as Prometheus would, and parse the text format. The
	// counters follow the engine's events a moment behind its cycles.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", d.path)
	}}}
	defer hc.CloseIdleConnections()
	scrape := func() map[string]*dto.MetricFamily {
		resp, err := hc.Get("http://daemon/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		require.NoError(t, err)
		return fams
	}
	var fams map[string]*dto.MetricFamily
	waitFor(t, "both changes counted", func() bool {
		fams = scrape()
		return counter(t, fams, "zerosync_changes_applied_total", map[string]string{"peer": "b"}) == 2 &&
			counter(t, fams, "zerosync_transferred_bytes_total", nil) == 14
	})

	assert.GreaterOrEqual(t, counter(t, fams, "zerosync_cycles_total", map[string]string{"result": "ok"}), 3.0)
	assert.Equal(t, 0.0, counter(t, fams, "zerosync_cycles_total", map[string]string{"result": "error"}))
	assert.Equal(t, 14.0, counter(t, fams, "zerosync_transferred_bytes_total", nil))
	assert.Equal(t, 2.0, counter(t, fams, "zerosync_changes_applied_total", map[string]string{"peer": "b"}))
	h := metric(t, fams, "zerosync_cycle_duration_seconds", nil).GetHistogram()
	assert.GreaterOrEqual(t, h.GetSampleCount(), uint64(3))
	prop := metric(t, fams, "zerosync_propagation_seconds", map[string]string{"peer": "b"}).GetHistogram()
	assert.Equal(t, uint64(2), prop.GetSampleCount(), "both edits were made after the previous cycle began")
	assert.Equal(t, 0.0, gauge(t, fams, "zerosync_conflicts_waiting", map[string]string{"peer": "b"}))
	assert.Equal(t, 0.0, gauge(t, fams, "zerosync_pair_halted", map[string]string{"peer": "b"}))
	assert.Equal(t, 1.0, gauge(t, fams, "zerosync_peer_up", map[string]string{"peer": "b"}))
	assert.Equal(t, 0.0, gauge(t, fams, "zerosync_paused", nil))
	assert.Equal(t, "ctl", label(metric(t, fams, "zerosync_paused", nil), "engine"))

	// A conflict waiting and a halted pair show per peer.
	_, err = d.c.Pause(bg)
	require.NoError(t, err)
	writeFile(t, d.dirA, "m.txt", "from a")
	writeFile(t, d.dirB, "m.txt", "from b")
	_, err = d.c.Resume(bg)
	require.NoError(t, err)
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
	waitFor(t, "the conflict counted", func() bool {
		fams, err = d.c.Metrics(bg)
		require.NoError(t, err)
		return counter(t, fams, "zerosync_conflicts_total", map[string]string{"peer": "b"}) == 1
	})
	assert.Equal(t, 1.0, gauge(t, fams, "zerosync_conflicts_waiting", map[string]string{"peer": "b"}))
	assert.Equal(t, 1.0, counter(t, fams, "zerosync_conflicts_total", map[string]string{"peer": "b"}))
}

// metric returns the metric of family name whose labels include want.
func metric(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no metric %s", name)
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			if label(m, k) != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no metric %s with labels %v", name, want)
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return metric(t, fams, name, labels).GetCounter().GetValue()
}

func gauge(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return metric(t, fams, name, labels).GetGauge().GetValue()
}
