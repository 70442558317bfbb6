package ssh

import (
	"testing"

	"github.com/zerosync/zerosync/transport/transporttest"
)

// TestConformance runs the endpoint conformance suite over a real sshd.
// Every subtest opens a fresh root through the same transport, so the
// whole suite also runs over one connection.
func TestConformance(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	t.Run("kind=ssh", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			root := newDir(t, "root")
			ep, err := tr.Endpoint(t.Context(), f.target(), root)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ep.Close() })
			return harness(ep, root)
		})
	})
	if st := tr.Stats(); st.Dials != 1 || st.Agents != 1 {
		t.Errorf("the suite used %d connections and %d agents, want 1 and 1", st.Dials, st.Agents)
	}
}

// harness is the suite's view of an endpoint over root, a directory on
// this host that the agent serves.
func harness(ep *Endpoint, root string) transporttest.Harness {
	return transporttest.DirHarness(ep, root)
}
