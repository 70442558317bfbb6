package remote

import (
	"testing"

	"github.com/zerosync/zerosync/transport/transporttest"
)

// The client's endpoint, over net.Pipe to an agent serving a local
// directory, passes the whole conformance suite.
func TestConformance(t *testing.T) {
	t.Run("kind=remote", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			ep, _, root := remoteLocal(t)
			return harness(ep, root)
		})
	})
	// An agent of an older version, without path scans: the client's
	// ScanPaths falls back to a whole-tree scan and passes the same cases.
	t.Run("kind=remote-old-agent", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			root := newRoot(t)
			cn := connect(t, openLocal, []Option{withoutCaps(capScanPaths)})
			return harness(cn.endpoint(t, root), root)
		})
	})
}
