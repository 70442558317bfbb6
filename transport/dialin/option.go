package dialin

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/zerosync/zerosync/internal/option"
	"github.com/zerosync/zerosync/transport/remote"
)

// Option configures an [Endpoint]; see [New].
type Option func(*config) error

type config struct {
	log         *slog.Logger
	backoffMin  time.Duration
	backoffMax  time.Duration
	dialTimeout time.Duration
	remote      []remote.Option
}

func defaults() config {
	return config{
		log:         slog.New(slog.DiscardHandler),
		backoffMin:  250 * time.Millisecond,
		backoffMax:  5 * time.Second,
		dialTimeout: 10 * time.Second,
	}
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return option.Logger(&c.log, l) }
}

// WithBackoff spaces the attempts to reach a spoke that is away: after a
// failed attempt the next one is made no sooner than min later, doubling
// after each further failure up to max; a call that comes sooner fails at
// once with the last error, and a watch waits that long before it looks
// again. The default is 250ms to 5s: an attempt is a connection to a
// socket on this host, which costs little.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return fmt.Errorf("backoff: min %v, max %v", min, max)
		}
		c.backoffMin, c.backoffMax = min, max
		return nil
	}
}

// WithDialTimeout bounds connecting to the socket; the default is 10s.
// The protocol's handshake has a bound of its own
// (remote.WithHandshakeTimeout).
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("dial timeout %v is not positive", d)
		}
		c.dialTimeout = d
		return nil
	}
}

// WithRemoteOptions passes options to the protocol's client (remote.Dial):
// keepalive deadlines, a cap on a scan's entries, compression.
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(c *config) error {
		c.remote = append(c.remote, opts...)
		return nil
	}
}
