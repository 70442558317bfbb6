package watch

import (
	"io/fs"
	"syscall"
)

// inodeAndCtime returns fi's inode number and change time, in nanoseconds.
func inodeAndCtime(fi fs.FileInfo) (ino uint64, ctime int64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return st.Ino, st.Ctim.Nano()
}
