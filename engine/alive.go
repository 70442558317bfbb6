package engine

import (
	"sync/atomic"
	"time"
)

// heartbeat is the sign of life of [Engine.Run]'s loop: when it last did
// something, and whether it is idle (waiting for a source).
type heartbeat struct {
	last atomic.Int64 // Unix ns
	idle atomic.Bool
}

func (h *heartbeat) beat() { h.last.Store(time.Now().UnixNano()) }

// Alive reports whether [Engine.Run]'s loop is alive: it waits for
// something to do, or its cycle made progress (an event: a change applied,
// a pair planned, a problem) within the last within. It is false when Run
// is not active. A supervisor's watchdog asks it (systemd's WATCHDOG=1).
func (e *Engine) Alive(within time.Duration) bool {
	e.mu.Lock()
	running := e.status.Running
	e.mu.Unlock()
	if !running {
		return false
	}
	return e.hb.idle.Load() || time.Since(time.Unix(0, e.hb.last.Load())) < within
}
