//go:build linux

package transporttest

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// Tmpfs mounts a tmpfs with the mount options opts (such as "size=1m" or
// "nr_inodes=32") on a new temporary directory and returns the directory: a
// small file system that a test can fill for real. It needs the right to
// mount (CI runs as root) and fails the test without it. The file system is
// unmounted when the test ends, after the cleanups registered later (close
// the endpoints over it in those). See [Remount] to give it more room.
func Tmpfs(t testing.TB, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,"+opts); err != nil {
		t.Fatalf("mount a tmpfs (%s) on %s: %v", opts, dir, err)
	}
	t.Cleanup(func() {
		err := unix.Unmount(dir, 0)
		if errors.Is(err, unix.EBUSY) {
			// Something still holds it open: detach it now, and the
			// kernel frees it when the last user lets go.
			err = unix.Unmount(dir, unix.MNT_DETACH)
		}
		if err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Remount changes the options of a tmpfs that [Tmpfs] mounted, such as
// "size=8m" to give it room; what it holds stays, and it stays the same file
// system (device and inodes).
func Remount(t testing.TB, dir, opts string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		t.Fatalf("remount the tmpfs on %s with %s: %v", dir, opts, err)
	}
}
