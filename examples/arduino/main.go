// Command arduino keeps Arduino and other microcontroller projects the same
// on the hosts that edit and flash them: sketches, headers, libraries,
// without build output.
//
//	arduino --root ~/Arduino --peer bench=/mnt/bench/Arduino run
package main

import (
	"time"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/app"
)

func main() {
	agent.Handle() // this binary is also the agent on remote hosts
	newApp().Main()
}

// newApp describes the engine.
func newApp() *app.App {
	return &app.App{
		Name:        "arduino",
		Summary:     "microcontroller projects on every host that edits or flashes them",
		DefaultRoot: "~/Arduino",
		Exclude: []string{
			// Build folders: arduino-cli's and the IDE's (Export compiled
			// binary), Arduino-Makefile's (build-uno), PlatformIO's.
			"build/", "build-*/", ".pio/",
			// What the IDE 1.x exports beside the sketch (Blink.ino.standard.hex,
			// Blink.ino.nodemcu.bin), object files built in place, the
			// editor's symbol cache. Not every *.hex, *.bin or *.elf: the
			// cores installed in the sketchbook's hardware folder ship
			// bootloaders, partition tables and boot stubs as such files,
			// and a build or "Burn Bootloader" on the other host needs them.
			"*.ino.hex", "*.ino.*.hex", "*.ino.bin", "*.ino.*.bin", "*.o",
			".vscode/ipch/",
		},
		Rescan: time.Minute,
	}
}
