package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// floorTool is the least a first sync can cost on this machine, measured
// beside the tools: A copied into an empty B with nothing a sync tool
// needs. Locally, every file is created at its own name and written by as
// many workers as there are cores (no temp name, no rename, no digest, no
// fsync, no state): no tool copies faster. Over ssh, tar reads A into ssh
// and tar on the far end writes B, through the same sshd and counting proxy
// as the tools: a copy with nothing made durable and nothing checked.
type floorTool struct {
	a, b string
	ssh  *sshd // nil: local
}

func (t *floorTool) Name() string {
	if t.ssh != nil {
		return "tar over ssh"
	}
	return "plain copy"
}
func (t *floorTool) Forget() error    { return nil }
func (t *floorTool) Persistent() bool { return false }

// Times: the local copy keeps none; tar keeps files' times, not compared,
// as the floor is not a tool the workloads check for them.
func (t *floorTool) Times() timeKind { return timesNone }

func (t *floorTool) Sync(ctx context.Context) error {
	if t.ssh != nil {
		return t.tarOverSSH(ctx)
	}
	return copyFloor(ctx, t.a, t.b, runtime.GOMAXPROCS(0))
}

// tarOverSSH pipes `tar -c` of A into ssh, which runs `tar -x` into B.
func (t *floorTool) tarOverSSH(ctx context.Context) error {
	if strings.ContainsAny(t.b, "'\n") {
		return fmt.Errorf("tar over ssh: %q must not contain quotes", t.b)
	}
	pack := exec.CommandContext(ctx, "tar", "-C", t.a, "-cf", "-", ".")
	args := append(t.ssh.opts(true), t.ssh.host(), "tar -C '"+t.b+"' -xf -")
	unpack := exec.CommandContext(ctx, "ssh", args...)
	pipe, err := pack.StdoutPipe()
	if err != nil {
		return err
	}
	unpack.Stdin = pipe
	var packErr, unpackErr strings.Builder
	pack.Stderr, unpack.Stderr = &packErr, &unpackErr
	if err := pack.Start(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	if err := unpack.Run(); err != nil {
		pack.Process.Kill()
		pack.Wait()
		return fmt.Errorf("ssh tar -x: %w: %s", err, tail([]byte(unpackErr.String()), 2000))
	}
	if err := pack.Wait(); err != nil {
		return fmt.Errorf("tar -c: %w: %s", err, tail([]byte(packErr.String()), 2000))
	}
	return nil
}

// copyFloor copies the tree at src into the empty folder dst: folders
// first, then files and symlinks by workers at once. Each is made with its
// mode, given again only where the umask took bits of it.
func copyFloor(ctx context.Context, src, dst string, workers int) error {
	type item struct {
		rel  string
		mode fs.FileMode
	}
	var items []item
	mask := umask()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			perm, to := info.Mode().Perm(), filepath.Join(dst, rel)
			if rel != "." {
				if err := os.Mkdir(to, perm); err != nil {
					return err
				}
				if perm&mask == 0 {
					return nil
				}
			}
			// dst as it was made, or a folder the umask took bits of.
			return os.Chmod(to, perm)
		}
		items = append(items, item{rel, info.Mode()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("plain copy: %w", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan item)
	for range max(1, workers) {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for it := range next {
				if err := copyOne(filepath.Join(src, it.rel), filepath.Join(dst, it.rel), it.mode, mask, buf); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		next <- it
	}
	close(next)
	wg.Wait()
	return errors.Join(first, ctx.Err())
}

// copyOne copies one file (read and write through buf, created with its
// mode, given it again where the umask mask took bits of it) or symlink.
func copyOne(src, dst string, mode, mask fs.FileMode, buf []byte) error {
	if mode&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	if !mode.IsRegular() {
		return fmt.Errorf("plain copy: %s is not a regular file, a folder or a symlink", src)
	}
	in, err := unix.Open(src, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: src, Err: err}
	}
	defer unix.Close(in)
	out, err := unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return &fs.PathError{Op: "create", Path: dst, Err: err}
	}
	defer unix.Close(out)
	for {
		n, err := unix.Read(in, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: src, Err: err}
		}
		if n == 0 {
			break
		}
		for w := buf[:n]; len(w) > 0; {
			k, err := unix.Write(out, w)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return &fs.PathError{Op: "write", Path: dst, Err: err}
			}
			w = w[k:]
		}
	}
	if mode.Perm()&mask == 0 {
		return nil
	}
	// The umask took bits the mode has.
	return unix.Fchmod(out, uint32(mode.Perm()))
}

// umask returns this process's umask, from /proc/self/status (reading it
// with umask(2) would change it for a moment), or 0o777 when it cannot
// tell: every file is then given its mode again.
func umask() fs.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(m)
			}
		}
	}
	return 0o777
}
