package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/transport/ssh"
)

// --bwlimit takes a rate as rsync writes it, before or after the
// subcommand, and refuses what it cannot read or what is too slow, as a
// mistake in the command line; it carries into the service's command
// line; the configuration's limits apply when it is not given.
func TestBandwidthLimitFlag(t *testing.T) {
	root := t.TempDir()
	var env *Env
	a := &App{Name: "test", Commands: map[string]Command{"env": {Usage: "  keep the Env", Run: func(_ context.Context, e *Env, _ []string) error {
		env = e
		return nil
	}}}}
	for in, want := range map[string]Rate{"2M": 2 << 20, "500": 500 << 10, "1.5MB": 1_500_000, "0": 0} {
		_, errs, err := cli(a, "--root", root, "--bwlimit", in, "env")
		require.NoError(t, err, errs)
		require.NotNil(t, env.BWLimit)
		assert.Equal(t, want, *env.BWLimit, in)
		_, errs, err = cli(a, "env", "--bwlimit="+in, "--root", root)
		require.NoError(t, err, errs)
		assert.Equal(t, want, *env.BWLimit, "after the subcommand: %s", in)
	}
	_, _, err := cli(a, "--root", root, "env")
	require.NoError(t, err)
	assert.Nil(t, env.BWLimit, "not given: the configuration decides")

	for in, msg := range map[string]string{"5X": `bandwidth limit "5X": unknown unit`, "1K": "below the least taken, 4K", "-2M": "negative"} {
		_, _, err := cli(a, "--root", root, "--bwlimit", in, "env")
		require.ErrorContains(t, err, msg, in)
		assert.Equal(t, ExitUsage, ExitCode(err), in)
	}

	rate := Rate(2 << 20)
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.Var(&rate, "bwlimit", "")
	require.NoError(t, flags.Set("bwlimit", "2M"))
	args, err := (&Env{BWLimit: &rate}).serviceArgs(flags)
	require.NoError(t, err)
	assert.Equal(t, []string{"--bwlimit", "2097152B", "run"}, args)
	require.NoError(t, rate.Set(args[1]), "the service reads back what it was given")
	assert.Equal(t, Rate(2<<20), rate)
}

// The configuration's bwlimit holds every SSH peer, and a peer's own its
// host; bad values are errors naming the file and the line.
func TestBandwidthLimitConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	require.NoError(t, os.WriteFile(p, []byte(`bwlimit = "2M"
[[peer]]
name = "server"
location = "me@server:/srv"
bwlimit = "500K"
[[peer]]
name = "here"
location = "/tmp/x"
`), 0o600))
	cfg, err := ReadConfig(p)
	require.NoError(t, err)
	assert.Equal(t, Rate(2<<20), cfg.BWLimit)
	assert.Equal(t, Rate(500<<10), cfg.Peers[0].BWLimit)

	log := slog.New(slog.DiscardHandler)
	base := []ssh.Option{ssh.WithConfigFile("none"), ssh.WithKnownHosts("none")}
	env := &Env{Config: cfg}
	require.Len(t, env.bandwidthOptions(), 2, "every host's limit and the server's own")
	tr, err := ssh.New(append(append(sshOptions(log), base...), env.bandwidthOptions()...)...)
	require.NoError(t, err)
	tr.Close()
	flag := Rate(0)
	env.BWLimit = &flag
	require.Len(t, env.bandwidthOptions(), 1, "--bwlimit wins over the file")

	require.NoError(t, os.WriteFile(p, []byte("bwlimit = \"fast\"\n"), 0o600))
	_, err = ReadConfig(p)
	require.ErrorContains(t, err, p+":1:")
	require.ErrorContains(t, err, "bandwidth limit")
}

// A peer reached otherwise than by the SSH transport (a spoke that dials
// in) has the flag's limit, else its own in the configuration, else the
// configuration's.
func TestPeerBandwidth(t *testing.T) {
	cfg := &Config{BWLimit: 1 << 20, Peers: []ConfigPeer{{Name: "spoke", Location: "dialin:spoke", BWLimit: 64 << 10}, {Name: "other", Location: "dialin:other"}}}
	env := &Env{Config: cfg}
	assert.Equal(t, int64(64<<10), env.peerBandwidth("spoke"))
	assert.Equal(t, int64(1<<20), env.peerBandwidth("other"))
	assert.Equal(t, int64(1<<20), env.peerBandwidth(""), "the hub a spoke offers its tree to")
	flag := Rate(8 << 10)
	env.BWLimit = &flag
	assert.Equal(t, int64(8<<10), env.peerBandwidth("spoke"))
	assert.Equal(t, int64(0), (&Env{}).peerBandwidth("spoke"))
}
