// Command hubitat keeps home-automation device configurations (Groovy apps
// and drivers, rule exports) the same between a workstation and the hosts
// that deploy them. Exported JSON is merged line by line when it can be,
// and otherwise the workstation's version wins, with the other kept for
// review.
//
//	hubitat --root ~/hubitat --peer hub-host=/srv/hubitat run
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
		Name:        "hubitat",
		Summary:     "device configurations between a workstation and the hub hosts",
		DefaultRoot: "~/hubitat",
		Include:     []string{"*.groovy", "*.json", "*.yaml", "*.yml", "*.md"},
		Exclude:     []string{"backups/", "*.log"},
		Rescan:      5 * time.Minute,
	}
}
