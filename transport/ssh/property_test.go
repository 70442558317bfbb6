package ssh

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine/enginetest"
	"github.com/zerosync/zerosync/transport/local"
)

// TestPropertyOverSSH is the core property test (see
// engine.TestPropertyConverge) with the spokes behind the real loopback
// sshd: the hub is a directory synced through a local endpoint, each spoke
// a directory that the engines reach through the agent, installed on first
// use, and that the person edits directly, the directory being on this
// host. One transport serves every history, so one connection and one agent
// carry them all. Cycles scan in full, so a person's edit on a spoke is
// seen by the next cycle. Set ZS_SEED to replay one history.
func TestPropertyOverSSH(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	enginetest.Run(t, 30, func(t *testing.T, i int) enginetest.Replica {
		name := fmt.Sprint("r", i)
		open := enginetest.Local(local.WithName(name))
		if i > 0 {
			open = func(ctx context.Context, root string) (zerosync.Endpoint, error) {
				return tr.Endpoint(ctx, f.target(), root)
			}
		}
		r, err := enginetest.NewDir(newDir(t, name), open)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, enginetest.WithSteps(25), enginetest.WithTimeout(5*time.Minute))
	// Every history reused the connection: a second dial is only a
	// reconnect after a loss, and the agent was installed once.
	if st := tr.Stats(); st.Uploads != 1 || st.Dials < 1 || st.Dials > 1+st.Reconnects {
		t.Fatalf("transport stats %+v: want one upload and one dial, and a dial more only per reconnect", st)
	}
}
