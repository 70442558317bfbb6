package app

import (
	"fmt"
	"strconv"

	"github.com/zerosync/zerosync/internal/bwlimit"
	"github.com/zerosync/zerosync/transport/remote"
	"github.com/zerosync/zerosync/transport/ssh"
)

// Rate is a bandwidth limit in bytes a second each way, written as rsync's
// --bwlimit takes it: "500K", "2M", "1.5MB" (K, M, G count 1024s, KB, MB,
// GB 1000s, B bytes; no unit counts KiB); 0 is no limit. It is the value
// of --bwlimit and of the configuration's bwlimit settings. The least
// limit is 4K: slower, the agent's own deadlines could drop a healthy
// connection.
type Rate int64

// Set reads a rate as --bwlimit takes it.
func (r *Rate) Set(s string) error {
	n, err := bwlimit.Parse(s)
	if err != nil {
		return err
	}
	if n != 0 && n < remote.MinBandwidthLimit {
		return fmt.Errorf("bandwidth limit %q is below the least taken, 4K (0 is no limit)", s)
	}
	*r = Rate(n)
	return nil
}

// String writes the rate in bytes.
func (r *Rate) String() string {
	if r == nil || *r == 0 {
		return "0"
	}
	return strconv.FormatInt(int64(*r), 10) + "B"
}

// Type names the value in help.
func (r *Rate) Type() string { return "RATE" }

// UnmarshalText reads a rate from the configuration file.
func (r *Rate) UnmarshalText(b []byte) error { return r.Set(string(b)) }

// MarshalText writes the rate for the configuration file.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// peerBandwidth is the bandwidth limit of the peer called name, reached
// otherwise than through the SSH transport (a spoke that dials in; ""
// for the hub a spoke offers its tree to): --bwlimit when it was given,
// else the peer's own in the configuration, else the configuration's
// bwlimit.
func (env *Env) peerBandwidth(name string) int64 {
	switch {
	case env.BWLimit != nil:
		return int64(*env.BWLimit)
	case env.Config == nil:
		return 0
	}
	for _, p := range env.Config.Peers {
		if p.Name == name && name != "" && p.BWLimit != 0 {
			return int64(p.BWLimit)
		}
	}
	return int64(env.Config.BWLimit)
}

// bandwidthOptions are the bandwidth limits of the SSH transport: --bwlimit
// for every host when it was given; else the configuration's bwlimit for
// every host, and each peer's own for its host.
func (env *Env) bandwidthOptions() []ssh.Option {
	if env.BWLimit != nil {
		return []ssh.Option{ssh.WithBandwidthLimit(int64(*env.BWLimit))}
	}
	if env.Config == nil {
		return nil
	}
	opts := []ssh.Option{ssh.WithBandwidthLimit(int64(env.Config.BWLimit))}
	for _, p := range env.Config.Peers {
		if target, _, ok := remoteLocation(p.Location); ok && p.BWLimit != 0 {
			opts = append(opts, ssh.WithHostBandwidthLimit(target, int64(p.BWLimit)))
		}
	}
	return opts
}
