package main

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/zerosync/zerosync/app/apptest"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }

// TestExecBitsOnEveryHost syncs a scripts folder from a hub to two peers: a
// script made on any host arrives on every other one in the same sync,
// content and permission bits alike; a chmod alone, or an edit, on one peer
// reaches the hub and the other peer.
func TestExecBitsOnEveryHost(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "server", "laptop")
	hosts := []string{h.Root, h.Peers["server"], h.Peers["laptop"]}
	check := func(want map[string]fs.FileMode) {
		t.Helper()
		for p, m := range want {
			for _, dir := range hosts {
				assert.Equal(t, m, h.Mode(dir, p), "%s in %s", p, dir)
			}
		}
	}
	h.Write(h.Root, "backup.sh", "#!/bin/sh\necho backup\n", 0o755)
	h.Write(h.Root, "lib/common.sh", "log() { echo \"$@\"; }\n", 0o644)
	h.Write(h.Peers["server"], "deploy.py", "#!/usr/bin/env python3\nprint('deploy')\n", 0o750)
	h.Write(h.Peers["laptop"], "private/vpn-up", "#!/bin/sh\necho up\n", 0o700)
	h.Run("once")
	check(map[string]fs.FileMode{"backup.sh": 0o755, "lib/common.sh": 0o644, "deploy.py": 0o750, "private/vpn-up": 0o700})

	// chmod +x on the laptop, chmod -x on the server, an edit on the laptop.
	h.Write(h.Peers["laptop"], "lib/common.sh", "log() { echo \"$@\"; }\n", 0o755)
	h.Write(h.Peers["server"], "backup.sh", "#!/bin/sh\necho backup\n", 0o644)
	h.Write(h.Peers["laptop"], "deploy.py", "#!/usr/bin/env python3\nprint('deploy v2')\n", 0o750)
	h.Run("once")
	check(map[string]fs.FileMode{"backup.sh": 0o644, "lib/common.sh": 0o755, "deploy.py": 0o750, "private/vpn-up": 0o700})
	for _, dir := range hosts {
		c, _ := h.Read(dir, "deploy.py")
		assert.Equal(t, "#!/usr/bin/env python3\nprint('deploy v2')\n", c, dir)
	}
	assert.Contains(t, h.Run("plan"), "0 change(s), 0 conflict(s)")
}
