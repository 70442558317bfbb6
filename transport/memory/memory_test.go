package memory_test

import (
	"io/fs"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
	"github.com/zerosync/zerosync/transport/transporttest"
)

func harness(t *testing.T) transporttest.Harness {
	m := memory.New(memory.WithName("mem"))
	t.Cleanup(func() { m.Close() })
	return transporttest.Harness{
		Endpoint:  m,
		WriteFile: m.WriteFile,
		Mkdir: func(p string, mode fs.FileMode) error {
			if err := m.Mkdir(p, mode); err != nil {
				return err
			}
			return m.Chmod(p, mode)
		},
		Symlink:   m.Symlink,
		RemoveAll: m.Remove,
		ReadFile:  m.ReadFile,
		Lstat:     func(p string) (*zerosync.Entry, error) { return m.Lstat(p), nil },
		Archived: func(p string) ([][]byte, error) {
			var out [][]byte
			for _, a := range m.Archive() {
				if a.Path == p {
					out = append(out, a.Data)
				}
			}
			return out, nil
		},
		HideRoot: func() (func() error, error) {
			m.SetMissing(true)
			return func() error { m.SetMissing(false); return nil }, nil
		},
	}
}

func TestConformance(t *testing.T) {
	t.Run("kind=memory", func(t *testing.T) { transporttest.Run(t, harness) })
}
