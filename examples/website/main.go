// Command website deploys a site one way, from this host's tree (the source
// of truth) to the web servers. Run "plan" first for a dry run; a file edited
// on a server is archived there before it is replaced.
//
//	website --root ~/site/public --peer web1=/var/www/site plan
//	website --root ~/site/public --peer web1=/var/www/site once
package main

import (
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
		Name:        "website",
		Summary:     "one-way deploy of a website, with a dry run first",
		DefaultRoot: "~/site/public",
		Exclude:     []string{".git/", "drafts/", "*.psd", ".DS_Store", "*.swp"},
		Mirror:      true,
	}
}
