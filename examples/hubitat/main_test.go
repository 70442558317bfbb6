package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/app/apptest"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }

const (
	lightV1 = "{\n  \"name\": \"Porch Light\",\n  \"driver\": \"Generic Zigbee Bulb\",\n  \"level\": 80\n}\n"
	lightV2 = "{\n  \"name\": \"Porch Light\",\n  \"driver\": \"Generic Zigbee Bulb\",\n  \"level\": 40\n}\n"
)

// TestDeviceConfigsPulledAndVersioned pulls the configurations a hub host
// exported (apps, drivers, device and rule exports) to the workstation,
// leaving the hub's backups and logs there; a device configuration changed
// on the hub arrives, the version it replaced is listed by "versions list"
// and brought back, on both hosts, by "versions restore".
func TestDeviceConfigsPulledAndVersioned(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "hub-host")
	ws, hub := h.Root, h.Peers["hub-host"]
	configs := map[string]string{
		"apps/thermostat.groovy":     "definition(name: \"Thermostat\")\n",
		"drivers/porch-light.groovy": "metadata { definition(name: \"Porch Light\") }\n",
		"devices/porch-light.json":   lightV1,
		"rules/evening.yaml":         "trigger: sunset\n",
		"README.md":                  "# hub\n",
	}
	for p, c := range configs {
		h.Write(hub, p, c, 0o644)
	}
	h.Write(hub, "backups/2024-05-01.lzf", "a hub backup\n", 0o644)
	h.Write(hub, "backups/devices.json", "[]\n", 0o644)
	h.Write(hub, "hub.log", "started\n", 0o644)
	h.Write(hub, "firmware.bin", "\x7fELF\n", 0o644)

	h.Run("once")
	got := h.Tree(ws)
	assert.Equal(t, configs, got, "the workstation should hold the configurations and nothing else")

	// The hub changes a device; the change is pulled.
	h.Write(hub, "devices/porch-light.json", lightV2, 0o644)
	h.Run("once")
	c, _ := h.Read(ws, "devices/porch-light.json")
	require.Equal(t, lightV2, c, "the hub's change should arrive")

	out := h.Run("versions", "list", "devices/porch-light.json")
	id := ""
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) >= 5 && f[1] == strconv.Quote("devices/porch-light.json") && f[len(f)-1] == "replaced" {
			id = f[0]
		}
	}
	require.NotEmpty(t, id, "versions list shows no replaced version:\n%s", out)
	h.Run("versions", "restore", "devices/porch-light.json", id)
	for _, dir := range []string{ws, hub} {
		c, _ := h.Read(dir, "devices/porch-light.json")
		assert.Equal(t, lightV1, c, "%s after versions restore", dir)
	}
}

// TestExportsMergedOrWorkstationWins edits a device export on both hosts:
// edits of different lines are merged; edits of the same line leave the
// workstation's version on both hosts, with the hub's kept for review.
func TestExportsMergedOrWorkstationWins(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "hub-host")
	ws, hub := h.Root, h.Peers["hub-host"]
	h.Write(ws, "devices/porch-light.json", lightV1, 0o644)
	h.Run("once")

	h.Write(ws, "devices/porch-light.json", strings.Replace(lightV1, "Porch Light", "Front Porch", 1), 0o644)
	h.Write(hub, "devices/porch-light.json", lightV2, 0o644)
	h.Run("once")
	merged := strings.Replace(lightV2, "Porch Light", "Front Porch", 1)
	for _, dir := range []string{ws, hub} {
		c, _ := h.Read(dir, "devices/porch-light.json")
		assert.Equal(t, merged, c, "%s: edits of different lines are merged", dir)
	}
	assert.Contains(t, h.Run("conflicts", "list"), "no conflicts")

	ours := strings.Replace(merged, "40", "100", 1)
	h.Write(ws, "devices/porch-light.json", ours, 0o644)
	h.Write(hub, "devices/porch-light.json", strings.Replace(merged, "40", "10", 1), 0o644)
	out := h.Run("once")
	for _, dir := range []string{ws, hub} {
		c, _ := h.Read(dir, "devices/porch-light.json")
		assert.Equal(t, ours, c, "%s: the workstation's version wins", dir)
	}
	assert.Contains(t, out, "other version kept as")
	list := h.Run("conflicts", "list")
	assert.Contains(t, list, "devices/porch-light.json")
	assert.NotContains(t, list, "no conflicts")
}
