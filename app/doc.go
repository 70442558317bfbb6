// Package app turns the description of a sync engine into a command with the
// subcommands every zerosync engine shares, so an engine of one's own is a
// dozen lines: an [App] says what is synced (a default root, include and
// exclude patterns), how (resolvers asked before the shared chain, a one-way
// mirror, engine options such as views) and how often (a safety rescan
// beside the watcher), and [App.Main] is the program.
//
// # Subcommands
//
// Every engine has run (sync now and whenever something changes), once,
// plan (a dry run), status, pause and resume (with --all: every engine of
// the host), conflicts (list, show, apply), versions (list, restore) and
// adopt (accept a root that changed on purpose). [App.Commands] adds an
// engine's own. Peers are directories of this host or HOST:PATH over SSH;
// the binary serves as its own agent there when its main calls
// agent.Handle first.
//
// # Output
//
// Names from the trees are printed so that a hostile name cannot forge
// output: [Name] and [Text] escape them. Errors that need a person come
// with [Advice] naming a command to type.
//
// # Testing
//
// Package apptest, beside this one, runs an engine's command line on
// temporary folders, as its Smoke function does for every example engine.
package app
