package gitaware

import (
	"errors"
	"fmt"
	"github.com/zerosync/zerosync/internal/option"
	"log/slog"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Option configures a [Project] ([New]) or a [History] ([NewHistory]); each
// reads the settings that concern it.
type Option func(*settings) error

// settings holds the settings options make.
type settings struct {
	log          *slog.Logger
	stateDir     string
	excludes     string // global excludes file; "" for none
	excludesSet  bool
	override     []gitignore.Pattern
	walkLimit    int
	baseLimit    int64
	mode         Mode
	historyLimit int64
}

// defaults returns the settings before options.
func defaults() settings {
	return settings{
		log:          slog.New(slog.DiscardHandler),
		mode:         ModeGitOnly,
		walkLimit:    10000,
		baseLimit:    16 << 20,
		historyLimit: 32 << 20,
	}
}

// apply applies opts to c.
func (c *settings) apply(opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return errors.New("gitaware: nil option")
		}
		if err := o(c); err != nil {
			return fmt.Errorf("gitaware: %w", err)
		}
	}
	return nil
}

// WithHistoryLimit sets the largest file, in bytes, that a [History] keeps;
// larger files are left out (and logged). The default is 32 MiB.
func WithHistoryLimit(n int64) Option {
	return func(c *settings) error {
		if n < 1 {
			return fmt.Errorf("history limit %d is not positive", n)
		}
		c.historyLimit = n
		return nil
	}
}

// WithStateDir keeps the project's state in dir, created if missing: the
// mode (so every process using the same directory follows [Project.SetMode])
// and, for [Project.History], the history repositories. Keep it outside every
// synced tree. Without it the mode lives in memory only.
func WithStateDir(dir string) Option {
	return func(p *settings) error {
		if dir == "" {
			return errors.New("empty state directory")
		}
		p.stateDir = dir
		return nil
	}
}

// WithMode sets the mode a project starts with when its state directory
// holds none; the default is [ModeGitOnly].
func WithMode(m Mode) Option {
	return func(p *settings) error {
		if !m.Valid() {
			return fmt.Errorf("invalid mode %d", m)
		}
		p.mode = m
		return nil
	}
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(p *settings) error { return option.Logger(&p.log, l) }
}

// WithIgnore adds gitignore-syntax patterns that overrule git's ignore rules
// in every repository, relative to each repository's top: "!.env.local"
// syncs a file git ignores, "*.bak" keeps a file from crossing although git
// does not ignore it. For a path, the pattern matching the path itself, or
// else its deepest directory, decides; the last such pattern wins. Tracked
// files are synced whatever the patterns say.
func WithIgnore(patterns ...string) Option {
	return func(p *settings) error {
		for _, s := range patterns {
			if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") || strings.ContainsAny(s, "\x00\n\r") {
				return fmt.Errorf("bad ignore pattern %q", s)
			}
			p.override = append(p.override, gitignore.ParsePattern(s, nil))
		}
		return nil
	}
}

// WithExcludesFile names the user's global excludes file, used by every
// repository whose settings sets no core.excludesFile; "" uses none. The
// default is found as git finds it: core.excludesFile in the system and
// global git settings, else $XDG_CONFIG_HOME/git/ignore.
func WithExcludesFile(file string) Option {
	return func(p *settings) error {
		p.excludes, p.excludesSet = file, true
		return nil
	}
}

// WithWalkLimit bounds how many commits of each side's history are read to
// count how far two HEADs are apart; counts past it are reported as lower
// bounds. The default is 10000.
func WithWalkLimit(n int) Option {
	return func(p *settings) error {
		if n < 1 {
			return fmt.Errorf("walk limit %d is not positive", n)
		}
		p.walkLimit = n
		return nil
	}
}

// WithBaseLimit sets the largest file, in bytes, that [Project.Base] reads
// from HEAD as a merge base; the default is 16 MiB.
func WithBaseLimit(n int64) Option {
	return func(p *settings) error {
		if n < 1 {
			return fmt.Errorf("base limit %d is not positive", n)
		}
		p.baseLimit = n
		return nil
	}
}
