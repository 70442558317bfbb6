//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var (
	_ zerosync.Identifier = (*Endpoint)(nil)
	_ zerosync.Locator    = (*Endpoint)(nil)
)

// maxMarkerSize caps what is read of a marker file.
const maxMarkerSize = 256

// Location returns the root's absolute path on this host.
func (e *Endpoint) Location() zerosync.Location {
	return zerosync.Location{Path: e.root}
}

// RootID returns the root's identity: the replica ID in its marker
// ([zerosync.MarkerPath]) and the file system ID and inode of the root
// directory. A marker that is not a small regular file holding a valid
// replica ID is an error, never read as "no marker".
func (e *Endpoint) RootID(ctx context.Context) (zerosync.RootID, error) {
	if err := ctx.Err(); err != nil {
		return zerosync.RootID{}, err
	}
	fd, err := e.openRoot()
	if err != nil {
		return zerosync.RootID{}, e.perr("identify", ".", err)
	}
	defer unix.Close(fd)
	id, err := e.rootID(fd)
	if err != nil {
		return zerosync.RootID{}, e.perr("identify", ".", err)
	}
	return id, nil
}

// MarkRoot gives the root a marker with a new random replica ID when it has
// none, written durably (temp file, fsync, rename without replacing,
// directory fsync); a root that has one keeps it.
func (e *Endpoint) MarkRoot(ctx context.Context) (zerosync.RootID, error) {
	if err := ctx.Err(); err != nil {
		return zerosync.RootID{}, err
	}
	fd, err := e.openRoot()
	if err != nil {
		return zerosync.RootID{}, e.perr("mark", ".", err)
	}
	defer unix.Close(fd)
	id, err := e.rootID(fd)
	if err != nil || id.Replica != "" {
		if err != nil {
			err = e.perr("mark", ".", err)
		}
		return id, err
	}
	if err := e.writeMarker(fd, zerosync.NewReplicaID()); err != nil {
		return zerosync.RootID{}, e.perr("mark", ".", err)
	}
	id, err = e.rootID(fd)
	if err == nil && id.Replica == "" {
		err = errors.New("marker written but not found")
	}
	if err != nil {
		return zerosync.RootID{}, e.perr("mark", ".", err)
	}
	e.log.Info("marked root", "root", e.root, "replica", id.Replica)
	return id, nil
}

// rootID reads the identity of the root open as fd.
func (e *Endpoint) rootID(fd int) (zerosync.RootID, error) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return zerosync.RootID{}, fmt.Errorf("statfs: %w", err)
	}
	fsid := fmt.Sprintf("fsid=%08x%08x", uint32(sfs.Fsid.Val[0]), uint32(sfs.Fsid.Val[1]))
	if sfs.Fsid.Val[0] == 0 && sfs.Fsid.Val[1] == 0 {
		fsid = fmt.Sprintf("dev=%x", e.dev) // a file system without an ID
	}
	id := zerosync.RootID{Filesystem: fmt.Sprintf("%s,type=%x,ino=%d", fsid, uint64(sfs.Type), e.ino)}
	mfd, err := openBeneath(fd, zerosync.MarkerPath, unix.O_RDONLY)
	switch {
	case errnoIs(err, unix.ENOENT):
		return id, nil
	case err != nil:
		return zerosync.RootID{}, fmt.Errorf("open marker %s: %w", zerosync.MarkerPath, err)
	}
	f := os.NewFile(uintptr(mfd), zerosync.MarkerPath)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return zerosync.RootID{}, fmt.Errorf("marker %s: %w", zerosync.MarkerPath, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxMarkerSize {
		return zerosync.RootID{}, fmt.Errorf("marker %s is not a small regular file; move it away to let zerosync write a new one", zerosync.MarkerPath)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxMarkerSize))
	if err != nil {
		return zerosync.RootID{}, fmt.Errorf("read marker %s: %w", zerosync.MarkerPath, err)
	}
	id.Replica = strings.TrimSpace(string(b))
	if err := zerosync.CheckReplicaID(id.Replica); err != nil {
		return zerosync.RootID{}, fmt.Errorf("marker %s is damaged: %w", zerosync.MarkerPath, err)
	}
	return id, nil
}

// writeMarker writes a marker holding replica beneath the root fd, unless
// another process wrote one first.
func (e *Endpoint) writeMarker(rootfd int, replica string) error {
	dfd, err := openStateDir(rootfd)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	tmp := zerosync.TempPrefix + "replica-" + zerosync.NewReplicaID()[:8]
	tfd, err := openatRetry(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("create marker: %w", err)
	}
	f := os.NewFile(uintptr(tfd), tmp)
	_, err = f.WriteString(replica + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameNoReplace(dfd, tmp, "replica")
		if errnoIs(err, unix.EEXIST) {
			err = nil // marked by another process meanwhile: its ID stands
		}
	}
	unix.Unlinkat(dfd, tmp, 0)
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if err := fsyncDir(dfd); err != nil {
		return fmt.Errorf("sync %s: %w", zerosync.StateDirName, err)
	}
	return fsyncDir(rootfd)
}

// stateDirIgnore keeps git from committing the state folder when the root
// is (or lies in) a repository: a .gitignore inside it that ignores
// everything, itself included.
const stateDirIgnore = "# zerosync's own files (marker, archive): never committed\n*\n"

// openStateDir opens the root's state folder, creating it (mode 0700) with
// its .gitignore when missing.
func openStateDir(rootfd int) (int, error) {
	dfd, err := mkdirAllAt(rootfd, zerosync.StateDirName, 0o700)
	if err != nil {
		return -1, fmt.Errorf("create %s: %w", zerosync.StateDirName, err)
	}
	fd, err := openatRetry(dfd, ".gitignore", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o644)
	switch {
	case err == nil:
		_, werr := unix.Write(fd, []byte(stateDirIgnore))
		unix.Close(fd)
		if werr != nil {
			unix.Unlinkat(dfd, ".gitignore", 0)
		}
	case !errnoIs(err, unix.EEXIST):
		e := fmt.Errorf("create %s/.gitignore: %w", zerosync.StateDirName, err)
		unix.Close(dfd)
		return -1, e
	}
	return dfd, nil
}
