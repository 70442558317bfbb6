// Package gitaware makes an engine's sync aware of the git repositories in
// its trees: repository metadata never crosses, ignored files never cross,
// a project syncs the files git tracks, the ones it does not, or both, and
// a repository whose two sides are not at the same commit, or that is in
// the middle of a rebase, is held back instead of being written into.
//
// # Use
//
// A [Project] is shared by the engines of one project. Each engine gets a
// [View] and the project's merge base:
//
//	p, err := gitaware.New(gitaware.WithStateDir(dir))
//	diff3, err := merge.Diff3(merge.WithBase(p.Base()))
//	e, err := engine.New(local, peers,
//		engine.WithView(p.View()),
//		engine.WithResolvers(diff3))
//
// Both trees of a pair must be local directories (endpoints with a Root
// method, such as a local endpoint): a repository on a tree without one is
// held back with [ErrNoDirectory].
//
// # Repositories
//
// Repositories are found at and below the sync root: a directory holding
// .git (a directory, or in a linked worktree a file naming the repository).
// Nested repositories are classified by their own rules, unless the
// repository around them ignores their directory. Submodules are listed in
// [Project.Status] and left to git: nothing in them is synced. A sync root
// inside a repository (below its top) is treated as outside any repository.
//
// # Classes and modes
//
// Each path is tracked (clean or modified), untracked, ignored or git's own
// ([Class], [Project.Classify]). Ignore rules are git's: every .gitignore,
// .git/info/exclude and the user's excludes file ([WithExcludesFile]);
// [WithIgnore] overrules them per pattern. A .gitignore comes from either
// tree, so it is bounded: one of more than 10,000 patterns, or one that would
// take a repository past 50,000, is left out with a warning, as an
// unreadable one is. The [Mode] picks what is synced:
// [ModeGitOnly] (the default), [ModeUntracked] or [ModeAll].
// [Project.SetMode] switches every engine of the project, and with a state
// directory every process that shares it.
//
// # Safety
//
// Tracked files are synced only while both sides' HEAD is the same commit;
// otherwise the repository is held back ([ErrDiverged]) and the status says
// which host is ahead or behind, by how many commits, on which branch.
// Nothing is synced in a repository with a merge, rebase, cherry-pick,
// revert or bisect under way on either side ([ErrInProgress]). A held-back
// repository is a [zerosync.Problem] in the engine's report and a
// [RepoStatus] with a [HoldError] in [Project.Status]; the next cycle after
// the cause is gone syncs it.
//
// A file edited on both sides is merged with the file at HEAD as the common
// ancestor ([Project.Base]), even when the pair has never synced it.
//
// # History
//
// A [History] commits every cycle's changes to a repository of its own
// under the state directory (never the user's repository), lists the
// versions of a file ([History.Log]) and restores one into the tree
// ([History.Restore]), from where the next cycle carries it to the peers.
package gitaware
