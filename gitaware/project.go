package gitaware

import (
	"fmt"
	"os"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Project is git-aware sync for one project: the mode its engines follow,
// and what their last cycles found in the repositories. One Project is
// shared by all the engines of a project in a process; engines in other
// processes follow the same mode through a shared state directory
// ([WithStateDir]). Its methods are safe for concurrent use.
type Project struct {
	settings // mode below is the current mode, guarded by mu

	mu     sync.Mutex
	pairs  map[[2]string]*pairInfo
	synced map[[2]string]map[string]plumbing.Hash // HEAD when a pair last synced a repository
	counts map[[2]plumbing.Hash]distance
	locks  map[string]*sync.Mutex // by repository common directory
	roots  map[string]bool        // sync roots checked by checkRoot

	indexes  indexCache
	patterns patternCache
	blobs    blobCache
}

// New returns a project. With a state directory holding a mode, that mode
// is the project's; otherwise [WithMode]'s, else [ModeGitOnly].
func New(opts ...Option) (*Project, error) {
	p := &Project{
		settings: defaults(),
		pairs:    map[[2]string]*pairInfo{},
		synced:   map[[2]string]map[string]plumbing.Hash{},
		counts:   map[[2]plumbing.Hash]distance{},
		locks:    map[string]*sync.Mutex{},
		roots:    map[string]bool{},
	}
	if err := p.settings.apply(opts); err != nil {
		return nil, err
	}
	if !p.excludesSet {
		p.excludes = defaultExcludesFile()
	}
	if p.stateDir != "" {
		if err := os.MkdirAll(p.stateDir, 0o700); err != nil {
			return nil, fmt.Errorf("gitaware: state directory: %w", err)
		}
		m, ok, err := readMode(p.stateDir)
		if err != nil {
			return nil, fmt.Errorf("gitaware: %w", err)
		}
		if ok {
			p.mode = m
		}
	}
	return p, nil
}

// Mode returns the current mode. With a state directory it is read from
// there, so a switch made by another process is seen.
func (p *Project) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stateDir != "" {
		m, ok, err := readMode(p.stateDir)
		switch {
		case err != nil:
			p.log.Warn("mode file unreadable; keeping the mode", "dir", p.stateDir, "mode", p.mode, "err", err)
		case ok:
			p.mode = m
		}
	}
	return p.mode
}

// SetMode switches the mode of every engine of the project: those sharing
// this Project from their next cycle, and those of other processes using
// the same state directory from their next cycle too. Paths the new mode
// no longer syncs are left as they are on both sides; paths it starts to
// sync are reconciled against their last common state.
func (p *Project) SetMode(m Mode) error {
	if !m.Valid() {
		return fmt.Errorf("gitaware: invalid mode %d", m)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stateDir != "" {
		if err := writeMode(p.stateDir, m); err != nil {
			return fmt.Errorf("gitaware: save mode: %w", err)
		}
	}
	if p.mode != m {
		p.log.Info("mode switched", "from", p.mode, "to", m)
	}
	p.mode = m
	return nil
}

// lock takes the lock of the repository whose common directory is common
// (go-git is not safe for concurrent use) and returns its release.
func (p *Project) lock(common string) func() {
	p.mu.Lock()
	l, ok := p.locks[common]
	if !ok {
		l = &sync.Mutex{}
		p.locks[common] = l
	}
	p.mu.Unlock()
	l.Lock()
	return l.Unlock
}
