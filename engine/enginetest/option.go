package enginetest

import (
	"errors"
	"time"

	"github.com/zerosync/zerosync/engine"
)

// Option configures [Run].
type Option func(*config) error

type config struct {
	replicas int
	steps    int
	timeout  time.Duration
	watch    func(*engine.Engine) (stop func())
	engine   []engine.Option
}

func newConfig(opts []Option) (*config, error) {
	c := &config{replicas: 3, steps: 40}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithReplicas sets how many replicas a world has, the hub included; the
// default is three, a hub and two spokes.
func WithReplicas(n int) Option {
	return func(c *config) error {
		if n < 2 {
			return errors.New("enginetest: a world needs at least two replicas")
		}
		c.replicas = n
		return nil
	}
}

// WithSteps sets how many steps (edits and cycles) a history has before the
// world settles; the default is 40.
func WithSteps(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return errors.New("enginetest: negative step count")
		}
		c.steps = n
		return nil
	}
}

// WithTimeout bounds each history, its settling and its check included; by
// default only the test's own deadline does.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("enginetest: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithWatchers makes seeds 2 and 3 mod 4 run with live watchers: start is
// called for every engine of the world once it is built, and must start the
// engine's sources as [engine.Engine.Run] does, returning once every
// watcher is in place; stop is called when the history ends. Give it only
// where a person's edit is reported before the edit returns, as the memory
// endpoint does; a debounced watcher would let a cycle miss an edit.
func WithWatchers(start func(e *engine.Engine) (stop func())) Option {
	return func(c *config) error {
		if start == nil {
			return errors.New("enginetest: nil watcher start")
		}
		c.watch = start
		return nil
	}
}

// WithEngineOptions adds options to every engine a world builds, after
// [engine.WithVolatileState].
func WithEngineOptions(opts ...engine.Option) Option {
	return func(c *config) error {
		c.engine = append(c.engine, opts...)
		return nil
	}
}
