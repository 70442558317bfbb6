package watch

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func TestLimitError(t *testing.T) {
	for _, tc := range []struct {
		err   error
		limit string // the /proc file named, or "" when not a limit error
	}{
		{syscall.ENOSPC, maxWatchesFile},
		{fmt.Errorf("add: %w", syscall.ENOSPC), maxWatchesFile},
		{fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE), maxInstancesFile},
		{syscall.EACCES, ""},
		{errors.New("no space left on device"), ""}, // only the errno counts
	} {
		err := limitError("/some/dir", 7, tc.err)
		if tc.limit == "" {
			if err != nil {
				t.Errorf("limitError(%v) = %v; want nil", tc.err, err)
			}
			continue
		}
		if !errors.Is(err, ErrWatchLimit) || !errors.Is(err, tc.err) {
			t.Errorf("limitError(%v) = %v; want it to wrap ErrWatchLimit and the cause", tc.err, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.limit) || !strings.Contains(msg, "/some/dir") {
			t.Errorf("limitError(%v) = %q; want it to name %s and the directory", tc.err, msg, tc.limit)
		}
	}
}
