package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
)

// TestCommands: a client runs an engine's own command in the daemon: its
// output and exit status come back, a failure is an answer with its error
// and advice, an unknown command is not found, and a daemon without
// commands refuses.
func TestCommands(t *testing.T) {
	d := startDaemon(t)
	ctx := context.Background()
	_, err := d.c.Command(ctx, "echo", nil)
	var ce *control.Error
	require.ErrorAs(t, err, &ce, "no commands served")
	assert.Equal(t, http.StatusNotImplemented, ce.Status)

	run := func(ctx context.Context, name string, args []string, out io.Writer) (int, error) {
		switch name {
		case "echo":
			fmt.Fprintln(out, strings.Join(args, " "))
			return 0, nil
		case "fail":
			fmt.Fprintln(out, "half done")
			return 2, errors.New("wrong argument")
		}
		return 0, &control.Error{Status: http.StatusNotFound, Code: control.CodeNotFound, Message: "no command " + name}
	}
	d3 := startDaemonWith(t, []control.Option{control.WithCommands(run), control.WithAdvice(func(error) string { return "try: ctl help" })})
	resp, err := d3.c.Command(ctx, "echo", []string{"a", "b\x1b"})
	require.NoError(t, err)
	assert.Equal(t, "a b\x1b\n", resp.Output)
	assert.Zero(t, resp.Exit)
	assert.Empty(t, resp.Error)
	resp, err = d3.c.Command(ctx, "fail", nil)
	require.NoError(t, err, "a failed command is an answer")
	assert.Equal(t, "half done\n", resp.Output)
	assert.Equal(t, 2, resp.Exit)
	assert.Equal(t, "wrong argument", resp.Error)
	assert.Equal(t, "try: ctl help", resp.Advice)
	_, err = d3.c.Command(ctx, "nope/../x", nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
