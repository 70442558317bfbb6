// Package option holds the checks that the constructors' functional options
// share, so every package refuses the same bad values with the same words.
// An option body is then one line:
//
//	func WithLogger(l *slog.Logger) Option {
//		return func(c *config) error { return option.Logger(&c.log, l) }
//	}
package option

import (
	"errors"
	"fmt"
	"log/slog"
)

// Logger stores l in *dst; a nil logger is an error.
func Logger(dst **slog.Logger, l *slog.Logger) error {
	if l == nil {
		return errors.New("nil logger")
	}
	*dst = l
	return nil
}

// NonEmpty stores s in *dst; an empty string is an error naming what.
func NonEmpty(dst *string, what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	*dst = s
	return nil
}
