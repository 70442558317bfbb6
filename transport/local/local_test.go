//go:build linux

package local

import (
	"testing"

	"github.com/zerosync/zerosync/transport/transporttest"
)

func TestConformance(t *testing.T) {
	t.Run("kind=local", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) transporttest.Harness {
			e, root := newEndpoint(t)
			return harness(t, e, root)
		})
	})
}
