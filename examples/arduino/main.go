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
		Exclude:     []string{"build/", ".pio/", "*.hex", "*.elf", "*.bin", "*.o", ".vscode/ipch/"},
		Rescan:      time.Minute,
	}
}
