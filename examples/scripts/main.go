// Command scripts keeps a scripts folder the same on every host, exec bits
// included.
//
//	scripts --root ~/scripts --peer server=/srv/scripts run
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
		Name:        "scripts",
		Summary:     "a scripts folder on every host",
		DefaultRoot: "~/scripts",
		Exclude:     []string{"*.log", "__pycache__/", "*.pyc", ".venv/", "*.swp"},
		Rescan:      time.Minute,
	}
}
