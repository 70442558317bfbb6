package main

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/zerosync/zerosync/app/apptest"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }

// TestExecBits syncs a working folder between WSL and Linux: every file
// keeps its permission bits on the other side, whichever side made it; a
// chmod alone crosses; an edit of a script keeps it executable.
func TestExecBits(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "linux")
	wsl, linux := h.Root, h.Peers["linux"]
	modes := map[string]fs.FileMode{
		"tools/build.sh": 0o755,
		"tools/private":  0o700,
		"tools/group.sh": 0o750,
		"README.md":      0o644,
		"secret.env":     0o600,
	}
	for p, m := range modes {
		h.Write(wsl, p, "#!/bin/sh\necho "+p+"\n", m)
	}
	h.Write(linux, "bin/deploy", "#!/bin/sh\necho deploy\n", 0o755)
	modes["bin/deploy"] = 0o755
	h.Run("once")
	for p, m := range modes {
		for _, dir := range []string{wsl, linux} {
			assert.Equal(t, m, h.Mode(dir, p), "%s in %s", p, dir)
		}
	}

	// A chmod alone, on either side, crosses.
	h.Write(wsl, "tools/build.sh", "#!/bin/sh\necho tools/build.sh\n", 0o644)
	h.Write(linux, "README.md", "#!/bin/sh\necho README.md\n", 0o755)
	// An edit of a script keeps it executable on the other side.
	h.Write(linux, "bin/deploy", "#!/bin/sh\necho deploy v2\n", 0o755)
	h.Run("once")
	want := map[string]fs.FileMode{"tools/build.sh": 0o644, "README.md": 0o755, "bin/deploy": 0o755}
	for p, m := range want {
		for _, dir := range []string{wsl, linux} {
			assert.Equal(t, m, h.Mode(dir, p), "%s in %s", p, dir)
		}
	}
	c, _ := h.Read(wsl, "bin/deploy")
	assert.Equal(t, "#!/bin/sh\necho deploy v2\n", c)
	assert.Contains(t, h.Run("plan"), "0 change(s), 0 conflict(s)")
}
