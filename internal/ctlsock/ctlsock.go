// Package ctlsock names the control socket of an engine's daemon, for the
// daemon that listens there (package control) and for the agent that
// relays a remote client to it (package agent).
package ctlsock

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Path returns where the daemon of the engine called name listens:
// $XDG_RUNTIME_DIR/zerosync/NAME.sock, or, when XDG_RUNTIME_DIR is unset
// or not absolute, zerosync-UID/NAME.sock in [os.TempDir]. A name that is
// empty, or that is not one file name (a slash, a NUL, "." or ".."), is an
// error.
func Path(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("control: engine name %q cannot name a socket", name)
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if filepath.IsAbs(dir) {
		dir = filepath.Join(dir, "zerosync")
	} else {
		dir = filepath.Join(os.TempDir(), "zerosync-"+strconv.Itoa(os.Getuid()))
	}
	return filepath.Join(dir, name+".sock"), nil
}
