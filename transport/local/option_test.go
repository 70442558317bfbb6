//go:build linux

package local

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestOptionsAreValidated(t *testing.T) {
	root := newRoot(t)
	for name, o := range map[string]Option{
		"empty name":        WithName(""),
		"nil logger":        WithLogger(nil),
		"empty cache file":  WithStatCache(""),
		"no hash workers":   WithHashWorkers(0),
		"too many workers":  WithHashWorkers(1000),
		"empty archive":     WithArchiveDir(""),
		"negative debounce": WithDebounce(-1),
		"negative polling":  WithPollInterval(-1),
	} {
		if _, err := New(root, o); err == nil {
			t.Errorf("New with %s succeeded", name)
		}
	}
}

func TestNameAndLogger(t *testing.T) {
	var logs bytes.Buffer
	e, root := newEndpoint(t, WithName("laptop"), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithHashWorkers(1))
	writeFile(t, filepath.Join(root, ".zs-tmp-left-by-a-crash"), nil, 0o600)
	scanOK(t, e)
	if !strings.Contains(logs.String(), "removed stale temp file") || !strings.Contains(logs.String(), "endpoint=laptop") {
		t.Fatalf("log: %q", logs.String())
	}
	_, err := e.Open(t.Context(), "absent")
	var pe *zerosync.PathError
	if !errors.As(err, &pe) || pe.Host != "laptop" || pe.Op != "open" || pe.Path != "absent" {
		t.Fatalf("Open error %v does not name the endpoint", err)
	}
}
