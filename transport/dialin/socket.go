package dialin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxName bounds the names of engines and spokes.
const maxName = 64

// CheckName checks the name of an engine or a spoke: 1 to 64 letters,
// digits, '.', '_' or '-', starting with a letter or a digit, so that it
// is a file name, safe to print, and needs no quoting in a shell.
func CheckName(name string) error {
	if name == "" || len(name) > maxName {
		return fmt.Errorf("name %q is empty or longer than %d bytes", name, maxName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !letter && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("name %q: want letters, digits, '.', '_' and '-', starting with a letter or a digit", name)
		}
	}
	return nil
}

// SocketPath returns the conventional path of the socket through which
// the spoke named spoke reaches the engine named engine on this host:
// $XDG_RUNTIME_DIR/zerosync/dialin/ENGINE/SPOKE.sock. It fails when
// $XDG_RUNTIME_DIR is not set (then give a path of your own, in a
// directory only this user may use) or the path would be too long for a
// UNIX socket.
func SocketPath(engine, spoke string) (string, error) {
	return socketPath(os.Getenv("XDG_RUNTIME_DIR"), engine, spoke)
}

// socketPath is [SocketPath] with run as $XDG_RUNTIME_DIR.
func socketPath(run, engine, spoke string) (string, error) {
	for _, n := range []string{engine, spoke} {
		if err := CheckName(n); err != nil {
			return "", fmt.Errorf("dialin: %w", err)
		}
	}
	if run == "" || !filepath.IsAbs(run) {
		return "", errors.New("dialin: $XDG_RUNTIME_DIR is not set to an absolute path; give the socket's path instead")
	}
	p := filepath.Join(run, "zerosync", "dialin", engine, spoke+".sock")
	if err := checkSocketPath(p); err != nil {
		return "", fmt.Errorf("dialin: %w", err)
	}
	return p, nil
}

// maxSocketPath is the longest path of a UNIX socket, in bytes: the room
// in a socket address on Linux, less the terminating NUL.
const maxSocketPath = 107

// checkSocketPath checks the path of a socket: absolute, clean, at most
// 107 bytes, and without a NUL, a newline or another control character.
func checkSocketPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty socket path")
	case len(p) > maxSocketPath:
		return fmt.Errorf("socket path %q is %d bytes long, over the %d a UNIX socket can have", p, len(p), maxSocketPath)
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("socket path %q holds a control character", p)
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return fmt.Errorf("socket path %q is not an absolute, clean path", p)
	}
	return nil
}

// prepareDir makes the directory of socket, owner-only, when it is
// missing, and checks that only this user can use it: a directory (not a
// symbolic link), this user's, with no permission for group or others.
func prepareDir(socket string) error {
	dir := filepath.Dir(socket)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dialin: socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("dialin: socket directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("dialin: socket directory %q is a symbolic link; give a real directory that only this user may use", dir)
	case !fi.IsDir():
		return fmt.Errorf("dialin: socket directory %q is not a directory", dir)
	case !ok:
		return fmt.Errorf("dialin: socket directory %q: cannot tell its owner", dir)
	case int(st.Uid) != os.Getuid():
		return fmt.Errorf("dialin: socket directory %q belongs to user id %d, not to this user (%d); refusing it", dir, st.Uid, os.Getuid())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("dialin: socket directory %q has mode %v, which lets other users in; make it owner-only: chmod 700 %s", dir, fi.Mode().Perm(), shellWord(dir))
	}
	return nil
}

// shellWord returns s, a path without control characters, as a person
// types it in a shell: as it is when it holds nothing special, else in
// single quotes.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._+-=@%:,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
