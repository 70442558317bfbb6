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
}
