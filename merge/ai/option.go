package ai

import (
	"errors"
	"fmt"
	"github.com/zerosync/zerosync/internal/option"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/zerosync/zerosync"
)

// Defaults of [New].
const (
	// DefaultModel is the Claude model asked unless [WithModel] names
	// another.
	DefaultModel = anthropic.ModelClaudeSonnet5_5
	// DefaultTimeout bounds one resolution, retries included.
	DefaultTimeout = 3 * time.Minute
	// DefaultMaxSize is the largest version, in bytes, that is sent.
	DefaultMaxSize = 32 << 10
	// DefaultMaxRetries is how often a request is retried after a rate
	// limit (429), an overloaded or failing server (5xx) or a dropped
	// connection, with exponential backoff or the wait the server asks for.
	DefaultMaxRetries = 2
	// DefaultBaseURL is the address of the Claude API.
	DefaultBaseURL = "https://api.anthropic.com/"
)

// APIKeyEnv is the environment variable [New] reads the API key from when
// [WithAPIKey] gives none.
const APIKeyEnv = "ANTHROPIC_API_KEY"

// Option configures [New].
type Option func(*config) error

type config struct {
	apiKey  string
	model   string
	timeout time.Duration
	max     int64
	baseURL string
	retries int
	log     *slog.Logger
	base    zerosync.BaseProvider
}

// WithAPIKey sets the API key. Without it, [New] reads [APIKeyEnv]; with no
// key from either, the resolver passes on every conflict and sends nothing.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		c.apiKey = key
		return nil
	}
}

// WithModel sets the model id, such as "claude-haiku-5-5"; the default is
// [DefaultModel].
func WithModel(model string) Option {
	return func(c *config) error {
		if model == "" {
			return errors.New("WithModel: empty model id")
		}
		c.model = model
		return nil
	}
}

// WithTimeout bounds each resolution, retries included; the default is
// [DefaultTimeout]. A resolution that runs out of time passes.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout(%v): must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithMaxSize sets the largest version, in bytes, that is sent; a conflict
// with a larger base, ours or theirs passes. The default is
// [DefaultMaxSize].
func WithMaxSize(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxSize(%d): must be positive", n)
		}
		c.max = n
		return nil
	}
}

// WithBaseURL sets the address of the Messages API; the default is
// [DefaultBaseURL]. It must be https, or http to a loopback address (a
// local proxy or a test server), since the API key travels with every
// request. The ANTHROPIC_BASE_URL environment variable is not read.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		if err := checkBaseURL(u); err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

// WithMaxRetries sets how often a failed request is retried (see
// [DefaultMaxRetries]); zero turns retries off.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithMaxRetries(%d): must not be negative", n)
		}
		c.retries = n
		return nil
	}
}

// WithLogger sets the logger; the default discards everything. Logs carry
// paths, sizes, the model and outcomes, not file content (though the reason
// an answer was refused may quote the token a parser stumbled on).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return option.Logger(&c.log, l) }
}

// WithBase sets where the common ancestor comes from; the default is
// [merge.StoredBase] with the size limit of [WithMaxSize]. Without a known
// base the model is asked with the two versions alone.
func WithBase(p zerosync.BaseProvider) Option {
	return func(c *config) error {
		if p == nil {
			return errors.New("WithBase: nil provider")
		}
		c.base = p
		return nil
	}
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("ai: base URL: %w", err)
	}
	bad := func(why string) error { return fmt.Errorf("ai: base URL %q: %s", s, why) }
	switch {
	case u.Host == "":
		return bad("no host")
	case u.User != nil:
		return bad("credentials in the URL")
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return bad("scheme must be https")
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return bad("plain http is allowed to loopback addresses only")
}
