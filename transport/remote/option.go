package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/zerosync/zerosync/internal/bwlimit"

	"github.com/zerosync/zerosync/internal/option"
)

// Option configures [Serve] and [Dial]. Options that only matter to one
// side are accepted, and ignored, by the other.
type Option func(*config) error

type config struct {
	log        *slog.Logger
	maxFrame   int
	compress   bool
	delta      bool
	deltaMin   int64
	version    string
	name       string
	maxEntries int
	host       string // "" means name
	// interval and timeout are the keepalive settings ([WithKeepalive]);
	// zero disables keepalives and deadlines after the handshake.
	interval, timeout time.Duration
	handshake         time.Duration
	// bwlimit is the bandwidth limit in bytes a second each way; 0: none.
	bwlimit int64
	// control connects the agent to a daemon's control socket
	// (WithControl); nil: control requests are not offered.
	control func(ctx context.Context, engine string) (io.ReadWriteCloser, error)
	// protoMin and protoMax are the protocol versions this side speaks;
	// tests change them to check the handshake.
	protoMin, protoMax int
	// withoutCaps are capabilities this side does not offer; tests set it
	// to play an agent or client of an older version.
	withoutCaps uint64
	// spill is the folder where a server keeps the sums of a tree's last
	// whole scan between scans ([WithSpill]); "": in memory.
	spill string
}

// Defaults and bounds of the options.
const (
	// DefaultMaxFrame is the default of [WithMaxFrame].
	DefaultMaxFrame = 1 << 20
	minMaxFrame     = 256 << 10
	maxMaxFrame     = 64 << 20
	// DefaultDeltaMinSize is the default of [WithDeltaMinSize].
	DefaultDeltaMinSize = 128 << 10
	// DefaultMaxEntries is the default of [WithMaxEntries].
	DefaultMaxEntries = 4 << 20
	// DefaultKeepaliveInterval and DefaultKeepaliveTimeout are the
	// defaults of [WithKeepalive]: a ping after 10s of silence, and a peer
	// dropped after 30s without a whole frame. Three pings fit in the
	// timeout, so one delayed behind a large frame on a slow link is no
	// reason to give up; 30s is what a person waits before deciding that
	// something hangs, and stays below the minutes a stuck cycle would
	// otherwise hold a pair. Idle, the pings cost a few bytes every 10s.
	DefaultKeepaliveInterval = 10 * time.Second
	DefaultKeepaliveTimeout  = 30 * time.Second
	// DefaultHandshakeTimeout is the default of [WithHandshakeTimeout]:
	// both sides greet at once, so 30s is ample even for an agent started
	// on a loaded host.
	DefaultHandshakeTimeout = 30 * time.Second
	// maxDeadline bounds the keepalive and handshake settings.
	maxDeadline = 24 * time.Hour
)

func newConfig(opts []Option) (config, error) {
	c := config{
		log:        slog.New(slog.DiscardHandler),
		maxFrame:   DefaultMaxFrame,
		compress:   true,
		delta:      true,
		deltaMin:   DefaultDeltaMinSize,
		name:       "remote",
		maxEntries: DefaultMaxEntries,
		interval:   DefaultKeepaliveInterval,
		timeout:    DefaultKeepaliveTimeout,
		handshake:  DefaultHandshakeTimeout,
		protoMin:   ProtocolVersion,
		protoMax:   ProtocolVersion,
	}
	for _, o := range opts {
		if o == nil {
			return c, errors.New("remote: nil option")
		}
		if err := o(&c); err != nil {
			return c, fmt.Errorf("remote: %w", err)
		}
	}
	return c, nil
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.log = l
		return nil
	}
}

// WithMaxFrame sets the largest frame this side accepts, in bytes, between
// 256 KiB and 64 MiB; the default is [DefaultMaxFrame]. A longer frame from
// the peer is a protocol violation, refused before anything is allocated for
// it. Frames this side sends stay below 256 KiB whatever the setting, so
// peers with different settings always understand each other.
func WithMaxFrame(n int) Option {
	return func(c *config) error {
		if n < minMaxFrame || n > maxMaxFrame {
			return fmt.Errorf("max frame %d out of range [%d, %d]", n, minMaxFrame, maxMaxFrame)
		}
		c.maxFrame = n
		return nil
	}
}

// WithCompression offers (true, the default) or refuses zstd compression of
// content, scans and deltas. It is used when both sides offer it, by each
// side while its writes leave slower than about 64 MiB/s.
func WithCompression(on bool) Option {
	return func(c *config) error {
		c.compress = on
		return nil
	}
}

// WithDelta offers (true, the default) or refuses delta transfer of large
// files. It is used when both sides offer it.
func WithDelta(on bool) Option {
	return func(c *config) error {
		c.delta = on
		return nil
	}
}

// WithDeltaMinSize sets, on the client, the size from which a file moves as
// a delta, in both directions: an update pushed to a file the agent has
// (both the old and the new content at least n bytes), and a file read with
// OpenDelta against a version of at least n bytes (smaller ones are read
// whole). The default is [DefaultDeltaMinSize].
func WithDeltaMinSize(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("delta minimum size %d is not positive", n)
		}
		c.deltaMin = n
		return nil
	}
}

// WithVersion sets the version string this side announces in the handshake
// (the agent's release, say), at most 256 printable bytes. The client reads
// the agent's with [Client.Agent].
func WithVersion(v string) Option {
	return func(c *config) error {
		if len(v) > maxVersionLen || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("version %q is longer than %d bytes or holds control characters", cut(v, 64), maxVersionLen)
		}
		c.version = v
		return nil
	}
}

// WithName names the client's endpoints in errors ([zerosync.PathError]
// Host) and logs; the default is "remote". A transport names them after the
// host they reach.
func WithName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("empty name")
		}
		c.name = name
		return nil
	}
}

// WithMaxEntries caps, on the client, the number of entries a scan may
// report; a larger snapshot is refused as a protocol violation, so a
// hostile agent cannot make the client hold an unbounded tree. The default
// is [DefaultMaxEntries].
func WithMaxEntries(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("max entries %d is not positive", n)
		}
		c.maxEntries = n
		return nil
	}
}

// WithSpill makes each side keep what answers a tree's next whole scan
// with a diff in an unnamed file in dir instead of in memory, between two
// such scans: on a server, a 16-byte sum of each path (about 60 bytes a
// path with its name); on a client, the last snapshot received, encoded
// (about 80 bytes a path). A process that waits for the next scan holds a
// few kilobytes per tree, and the page cache the rest. A file that cannot
// be made or read back costs the next scan a whole answer, never an
// error.
func WithSpill(dir string) Option {
	return func(c *config) error { return option.NonEmpty(&c.spill, "spill folder", dir) }
}

// WithHost names the host the agent runs on, as the user calls it, in the
// [zerosync.Location] of the client's endpoints ([Endpoint.Location]). The
// default is the name given with [WithName]. A transport sets it to the
// host the user named.
func WithHost(host string) Option {
	return func(c *config) error {
		if host == "" || len(host) > maxRootLen || strings.ContainsFunc(host, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("host %q is empty, too long or holds control characters", cut(host, 64))
		}
		c.host = host
		return nil
	}
}

// WithKeepalive sets the deadlines of a connection after the handshake
// (see "Deadlines" in the package documentation): a side that has received
// nothing for interval sends a ping, and a peer that sends no whole frame
// for timeout is dropped, as is a peer that takes nothing this side writes
// for timeout. On the client, a call waiting on the agent fails when its
// request sees no whole frame for timeout, and the connection is dropped.
// The defaults are [DefaultKeepaliveInterval] and
// [DefaultKeepaliveTimeout]. interval must be below timeout; both zero
// turns the deadlines off (the caller's context then bounds every wait).
func WithKeepalive(interval, timeout time.Duration) Option {
	return func(c *config) error {
		if interval == 0 && timeout == 0 {
			c.interval, c.timeout = 0, 0
			return nil
		}
		if interval <= 0 || timeout <= interval || timeout > maxDeadline {
			return fmt.Errorf("keepalive: interval %v and timeout %v (want 0 < interval < timeout <= %v, or both 0)", interval, timeout, maxDeadline)
		}
		c.interval, c.timeout = interval, timeout
		return nil
	}
}

// WithHandshakeTimeout bounds the handshake: a peer that has not greeted
// and answered within d is dropped with an error wrapping [ErrStalled]. On
// the client the context given to [Dial] may end it sooner. The default is
// [DefaultHandshakeTimeout].
func WithHandshakeTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > maxDeadline {
			return fmt.Errorf("handshake timeout %v out of range (0, %v]", d, maxDeadline)
		}
		c.handshake = d
		return nil
	}
}

// WithBandwidthLimit holds this side's connection to bytesPerSecond bytes
// a second in each direction, as rsync's --bwlimit does: every frame this
// side writes, and every frame it reads, waits for its turn, headers and
// compressed payloads counted as they cross the connection (so the
// handshake aside, the traffic of any second-long stretch stays within the
// limit, give or take 32 KiB). The peer need not know of it. Under a limit
// the content this side sends goes in smaller frames, so that pings and
// the peer's deadlines still see whole frames often, and this side's
// deadlines on the peer grow by the time the limit takes to let in 2 MiB
// (see "Deadlines" in the package documentation). 0, the default, is no
// limit; otherwise bytesPerSecond must be at least [MinBandwidthLimit].
func WithBandwidthLimit(bytesPerSecond int64) Option {
	return func(c *config) error {
		if bytesPerSecond != 0 && (bytesPerSecond < MinBandwidthLimit || bytesPerSecond > bwlimit.MaxRate) {
			return fmt.Errorf("bandwidth limit of %d bytes a second out of range (0 for none, or %s to %s)",
				bytesPerSecond, bwlimit.Format(MinBandwidthLimit), bwlimit.Format(bwlimit.MaxRate))
		}
		c.bwlimit = bytesPerSecond
		return nil
	}
}
