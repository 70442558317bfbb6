package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/transport/ssh"
)

// --bwlimit takes a rate as rsync writes it and refuses what it cannot
// read, naming the flag; the SSH transport takes the rate, and refuses
// one too slow for the agent protocol.
func TestBandwidthLimitFlag(t *testing.T) {
	var out bytes.Buffer
	err := (&App{Name: "test"}).Run(context.Background(), []string{"--bwlimit", "5X", "--root", t.TempDir(), "status"}, Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	require.ErrorContains(t, err, `bandwidth limit "5X": unknown unit`)
	require.Contains(t, out.String(), "-bwlimit")

	log := slog.New(slog.DiscardHandler)
	opts := append(sshOptions(log, 2<<20), ssh.WithConfigFile("none"), ssh.WithKnownHosts("none"))
	tr, err := ssh.New(opts...)
	require.NoError(t, err)
	tr.Close()
	_, err = ssh.New(append(sshOptions(log, 1<<10), ssh.WithConfigFile("none"), ssh.WithKnownHosts("none"))...)
	require.ErrorContains(t, err, "bandwidth limit of 1024 bytes a second out of range")
}
