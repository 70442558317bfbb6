package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The things a fault does when its marker is reached.
const (
	// actKillEngine kills the engine process with SIGKILL.
	actKillEngine = "kill-engine"
	// actKillAgent kills the agent process of the fault's spoke with
	// SIGKILL: the connection ends and the spoke's side stops wherever it
	// was, as a crashed host would.
	actKillAgent = "kill-agent"
	// actCut shuts the connection to the fault's spoke down in both
	// directions, as a network that drops it would; both processes live on.
	actCut = "cut"
)

// The engine events a fault can wait for.
const (
	evStart    = "start"    // the cycle began, before any scan
	evApplied  = "applied"  // an action took effect, before the state commit
	evConflict = "conflict" // a conflict was settled (copy kept, review queued), before its actions
	evEnd      = "end"      // the cycle ended (its state change queued, maybe not yet durable), before the reply
)

// fault is what one cycle suffers: an action at a marker, which is either
// the Nth engine event of a kind or a byte count crossing the connection to
// a spoke in one direction, counted from the start of the cycle. A marker
// the cycle never reaches fires nothing.
type fault struct {
	Action string
	// Spoke is the connection (1 or 2) whose bytes are counted and which
	// kill-agent and cut hit.
	Spoke int
	// Event and Nth: fire at the Nth event of that kind.
	Event string `json:",omitempty"`
	Nth   int    `json:",omitempty"`
	// Dir and Bytes: fire when the bytes read from ("read") or written to
	// ("write") the spoke's connection reach Bytes; a write that crosses
	// the mark is cut there, mid-frame.
	Dir   string `json:",omitempty"`
	Bytes int64  `json:",omitempty"`
}

func (f fault) String() string {
	what := f.Action
	if f.Action != actKillEngine {
		what += fmt.Sprintf(" r%d", f.Spoke)
	}
	if f.Event != "" {
		return fmt.Sprintf("%s at %s #%d", what, f.Event, f.Nth)
	}
	return fmt.Sprintf("%s at %s byte %d of r%d", what, f.Dir, f.Bytes, f.Spoke)
}

// marker names where a fault fires, for the figures: "event:applied",
// "bytes:read"...
func (f fault) marker() string {
	if f.Event != "" {
		return "at " + f.Event + " event"
	}
	return "mid-" + f.Dir
}

// drawFault returns the fault of one cycle: none (nil) with probability
// 1-rate; otherwise an engine kill (60%), an agent kill (20%) or a cut
// (20%), at an engine event (40%) or at a byte count on a connection (60%,
// log-uniform from 1 byte to 1 MiB).
func drawFault(rng *rand.Rand, rate float64) *fault {
	if rng.Float64() >= rate {
		return nil
	}
	f := &fault{Spoke: 1 + rng.IntN(2)}
	switch x := rng.IntN(10); {
	case x < 6:
		f.Action = actKillEngine
	case x < 8:
		f.Action = actKillAgent
	default:
		f.Action = actCut
	}
	if rng.IntN(10) < 4 {
		switch x := rng.IntN(20); {
		case x < 2:
			f.Event, f.Nth = evStart, 1
		case x < 12:
			f.Event, f.Nth = evApplied, 1+rng.IntN(3)
		case x < 15:
			f.Event, f.Nth = evConflict, 1
		default:
			f.Event, f.Nth = evEnd, 1
		}
		return f
	}
	f.Dir = "read"
	if rng.IntN(2) == 0 {
		f.Dir = "write"
	}
	f.Bytes = int64(math.Exp(rng.Float64() * math.Log(1<<20)))
	return f
}
