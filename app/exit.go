package app

import (
	"errors"
	"fmt"
)

// The exit statuses of an engine's command: [App.Main] ends the process with
// [ExitCode] of what [App.Run] returned.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitFailure: an error stopped the command.
	ExitFailure = 1
	// ExitUsage: the command line was wrong: an unknown command or flag, a
	// missing or extra argument.
	ExitUsage = 2
	// ExitAttention: once finished, but left problems (paths it could not
	// sync) or conflicts waiting for review.
	ExitAttention = 3
)

// ErrAttention is wrapped by the error once returns when it finished but
// left problems or conflicts waiting for review; its exit status is
// [ExitAttention].
var ErrAttention = errors.New("finished, but something needs a person")

// ExitError is an error that ends the command with exit status Code.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the message of Err.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the exit status for err: [ExitOK] for nil, the Code of
// the first [ExitError] in its chain, and [ExitFailure] for any other error.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}

// usageError marks err as a mistake in the command line ([ExitUsage]).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// usageErrorf is [usageError] of a formatted message.
func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// attention returns the error of a sync that finished with problems left or
// conflicts waiting for review, or nil when it left neither.
func attention(problems, waiting int) error {
	if problems == 0 && waiting == 0 {
		return nil
	}
	return &ExitError{Code: ExitAttention, Err: fmt.Errorf("%w: %d problem(s), %d conflict(s) waiting for review", ErrAttention, problems, waiting)}
}
