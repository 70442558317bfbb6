//go:build linux

package transporttest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ExFAT mounts a fresh 16 MiB exFAT file system on a new temporary directory
// and returns the directory: a real file system that compares names without
// regard to case but keeps the case they were made with, as a Windows drive
// under WSL does. Files show mode 0644 and directories 0755 whatever is
// asked, and symlinks and hard links are refused.
//
// It needs the exfatprogs and exfat-fuse packages (mkfs.exfat,
// mount.exfat-fuse), a free loop device and the right to mount (CI runs as
// root), and fails the test without them. The file system is unmounted and
// its loop device released when the test ends, after the cleanups
// registered later (close the endpoints over it in those).
func ExFAT(t testing.TB) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "exfat.img")
	f, err := os.Create(img)
	if err == nil {
		err = errors.Join(f.Truncate(16<<20), f.Close())
	}
	if err != nil {
		t.Fatalf("make an exFAT image: %v", err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("mkfs.exfat", img)
	dev := run("losetup", "--find", "--show", img)
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("release %s: %v\n%s", dev, err, out)
		}
	})
	dir := t.TempDir()
	run("mount.exfat-fuse", "-o", "fmask=0133,dmask=0022", dev, dir)
	t.Cleanup(func() {
		err := unix.Unmount(dir, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(dir, unix.MNT_DETACH)
		}
		if err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
