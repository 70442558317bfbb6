package gitaware

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mode says which files of a repository a pair syncs.
type Mode uint8

// The modes. Paths outside every repository count as untracked.
const (
	// ModeGitOnly syncs only the files git tracks (in the index of either
	// side); untracked files stay where they are. It is the default.
	ModeGitOnly Mode = iota + 1
	// ModeUntracked syncs only the files git does not track and does not
	// ignore: git carries the rest, by push and pull.
	ModeUntracked
	// ModeAll syncs tracked and untracked files; ignored files never cross.
	ModeAll
)

// String returns "git-only", "untracked" or "all".
func (m Mode) String() string {
	switch m {
	case ModeGitOnly:
		return "git-only"
	case ModeUntracked:
		return "untracked"
	case ModeAll:
		return "all"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Valid reports whether m is one of the modes.
func (m Mode) Valid() bool { return m >= ModeGitOnly && m <= ModeAll }

// tracked and untracked report whether the mode syncs each class.
func (m Mode) tracked() bool   { return m == ModeGitOnly || m == ModeAll }
func (m Mode) untracked() bool { return m == ModeUntracked || m == ModeAll }

// ParseMode reads a mode from its name, as [Mode.String] writes it.
func ParseMode(s string) (Mode, error) {
	for m := ModeGitOnly; m <= ModeAll; m++ {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("gitaware: unknown mode %q (want git-only, untracked or all)", s)
}

// modeFile is the file under the state directory that holds the mode.
const modeFile = "mode"

// readMode returns the mode stored in dir; ok is false when none is.
func readMode(dir string) (m Mode, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, modeFile))
	if os.IsNotExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	m, err = ParseMode(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false, err
	}
	return m, true, nil
}

// writeMode stores m in dir atomically: a reader sees the old mode or the
// new one.
func writeMode(dir string, m Mode) error {
	return writeAtomic(filepath.Join(dir, modeFile), []byte(m.String()+"\n"))
}

// writeAtomic replaces file with data: temp file in the same directory,
// fsync, rename, fsync of the directory.
func writeAtomic(file string, data []byte) error {
	dir := filepath.Dir(file)
	f, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
