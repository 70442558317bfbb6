// Command wsl-linux syncs a whole working folder both ways between a WSL
// instance and a Linux host, leaving out caches and build output.
//
//	wsl-linux --root ~/work --peer linux=/mnt/linux/home/me/work run
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
		Name:        "wsl-linux",
		Summary:     "full two-way sync of a working folder between WSL and Linux",
		DefaultRoot: "~/work",
		Exclude:     []string{".cache/", "node_modules/", "__pycache__/", "*.pyc", "target/", "build/", "dist/", "*.tmp", "*.swp", ".Trash-*/", "Zone.Identifier", "*:Zone.Identifier"},
		Rescan:      time.Minute,
	}
}
