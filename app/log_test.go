package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogLevels: a command logs at Info by default, so warnings and errors
// always reach a person; -v adds Debug.
func TestLogLevels(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "")
	t.Setenv("INVOCATION_ID", "")
	ctx := context.Background()
	quiet := newLogger(new(bytes.Buffer), false)
	assert.False(t, quiet.Enabled(ctx, slog.LevelDebug))
	for _, l := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		assert.True(t, quiet.Enabled(ctx, l), l)
	}
	assert.True(t, newLogger(new(bytes.Buffer), true).Enabled(ctx, slog.LevelDebug))
}

// TestLogUnderSystemd: under systemd (INVOCATION_ID or JOURNAL_STREAM set)
// every line of a command's log is a JSON object; otherwise it is text.
func TestLogUnderSystemd(t *testing.T) {
	for _, env := range []string{"INVOCATION_ID", "JOURNAL_STREAM", ""} {
		t.Run("env="+env, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", "")
			t.Setenv("INVOCATION_ID", "")
			if env != "" {
				t.Setenv(env, "8:12345")
			}
			_, _, globals := trees(t)
			_, logs, err := cli(&App{Name: "test"}, append(globals, "once")...)
			require.NoError(t, err, logs)
			lines := strings.Split(strings.TrimSpace(logs), "\n")
			require.NotEmpty(t, lines[0], "the first sync logs at Info")
			for _, line := range lines {
				var rec map[string]any
				err := json.Unmarshal([]byte(line), &rec)
				if env == "" {
					assert.Error(t, err, line)
					assert.True(t, strings.HasPrefix(line, "time="), line)
					continue
				}
				require.NoError(t, err, line)
				assert.Equal(t, "INFO", rec["level"], line)
				assert.NotEmpty(t, rec["msg"])
			}
		})
	}
}
