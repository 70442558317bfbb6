package ai

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/merge"
)

// Resolver asks a Claude model to merge conflicting text files. Build one
// with [New]; it is safe for concurrent use.
type Resolver struct {
	client  anthropic.Client
	enabled bool
	model   string
	timeout time.Duration
	max     int64
	base    zerosync.BaseProvider
	log     *slog.Logger
}

var _ zerosync.Resolver = (*Resolver)(nil)

// New returns a resolver configured by opts. Nothing is sent before
// [Resolver.Resolve] is called, and nothing at all without an API key
// ([WithAPIKey], else the [APIKeyEnv] environment variable): the resolver
// then passes on every conflict. No other environment variable or
// configuration file is read.
func New(opts ...Option) (*Resolver, error) {
	cfg := config{
		model:   DefaultModel,
		timeout: DefaultTimeout,
		max:     DefaultMaxSize,
		baseURL: DefaultBaseURL,
		retries: DefaultMaxRetries,
		log:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("ai: %w", err)
		}
	}
	if cfg.apiKey == "" {
		cfg.apiKey = strings.TrimSpace(os.Getenv(APIKeyEnv))
	}
	if cfg.base == nil {
		cfg.base = merge.StoredBase(cfg.max)
	}
	r := &Resolver{
		enabled: cfg.apiKey != "",
		model:   cfg.model,
		timeout: cfg.timeout,
		max:     cfg.max,
		base:    cfg.base,
		log:     cfg.log.With("resolver", "ai", "model", cfg.model),
	}
	r.client = anthropic.NewClient(
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(cfg.apiKey),
		option.WithBaseURL(cfg.baseURL),
		option.WithMaxRetries(cfg.retries),
		option.WithoutOpenTelemetry(),
	)
	return r, nil
}

// Resolve asks the model to merge the two versions of c, given their base
// when one is known, and returns the merged text for both sides with By
// "ai:<model>". The merge also enters the review queue (KeepOther), and the
// versions it replaces go to the archive, since no check can prove that a
// model kept the intent of both edits.
//
// Resolve passes ([zerosync.ErrPass], with the reason) without sending
// anything when there is no API key, when either version is not a regular
// file, when the path looks like it holds secrets (.env files, keys,
// certificates, ssh and gpg material, credential and password files), when
// a version is over the size limit, is binary, or holds a private key or a
// well-known kind of token. It passes after asking when the time runs out
// (its own timeout, or ctx), when the model declines or its answer is cut
// short, and when the answer fails the checks: it must hold no conflict
// markers, be empty only if both versions are, stay within twice the larger
// version plus 4 KiB, and, for JSON, YAML, TOML, Go and shell files whose
// versions parse, parse too. A surrounding markdown code fence is removed,
// and CRLF line endings and the final newline are restored where both
// versions agree on them.
//
// An API error that remains after the retries, such as a server error or a
// refused key, is returned as a failure, not a pass.
func (r *Resolver) Resolve(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
	by := "ai:" + r.model
	passf := func(format string, args ...any) error {
		r.log.DebugContext(ctx, "pass", "path", c.Path, "reason", fmt.Sprintf(format, args...))
		return fmt.Errorf("%w: %s: %s", zerosync.ErrPass, by, fmt.Sprintf(format, args...))
	}
	switch {
	case !r.enabled:
		return zerosync.Resolution{}, passf("no API key")
	case c.Ours == nil || c.Theirs == nil || c.Ours.Kind != zerosync.KindFile || c.Theirs.Kind != zerosync.KindFile:
		return zerosync.Resolution{}, passf("not two files")
	case c.Content == nil:
		return zerosync.Resolution{}, passf("no content reader")
	case secretName(c.Path):
		return zerosync.Resolution{}, passf("name looks secret")
	}

	var bodies [2][]byte
	for i, v := range []zerosync.Version{zerosync.VersionOurs, zerosync.VersionTheirs} {
		b, err := c.Content.ReadVersion(ctx, v, r.max)
		switch {
		case errors.Is(err, zerosync.ErrTooLarge):
			return zerosync.Resolution{}, passf("%s version over %d bytes", zerosync.Side(i), r.max)
		case err != nil:
			return zerosync.Resolution{}, fmt.Errorf("%s: read %s: %w", by, c.Path, err)
		}
		bodies[i] = b
	}
	base, err := r.base.Base(ctx, c)
	switch {
	case errors.Is(err, zerosync.ErrNoBase):
		base = nil
	case errors.Is(err, zerosync.ErrTooLarge) || err == nil && int64(len(base)) > r.max:
		return zerosync.Resolution{}, passf("base over %d bytes", r.max)
	case err != nil:
		return zerosync.Resolution{}, fmt.Errorf("%s: base of %s: %w", by, c.Path, err)
	case base == nil:
		base = []byte{} // known and empty
	}
	for i, b := range [][]byte{base, bodies[0], bodies[1]} {
		if why := refusal(b); why != "" {
			return zerosync.Resolution{}, passf("%s version: %s", [3]string{"base", "ours", "theirs"}[i], why)
		}
	}

	a := answer{path: c.Path, base: base, ours: bodies[0], theirs: bodies[1], tag: newTag()}
	reply, err := r.ask(ctx, a)
	if err != nil {
		if errors.Is(err, zerosync.ErrPass) {
			r.log.DebugContext(ctx, "pass", "path", c.Path, "reason", err.Error())
			return zerosync.Resolution{}, fmt.Errorf("%w: %s: %w", zerosync.ErrPass, by, err)
		}
		r.log.DebugContext(ctx, "request failed", "path", c.Path, "err", err)
		return zerosync.Resolution{}, fmt.Errorf("%s: %s: %w", by, c.Path, err)
	}
	merged, err := a.check(reply)
	if err != nil {
		return zerosync.Resolution{}, passf("%v", err)
	}
	r.log.InfoContext(ctx, "merged", "path", c.Path, "bytes", len(merged))
	return zerosync.Resolution{Merged: merged, Mode: mergeMode(c), KeepOther: true, By: by,
		Note: "merged by a language model; check it in the review queue"}, nil
}

// ask sends one request and returns the text of the reply. Running out of
// time, a refusal and a cut-off answer are errors wrapping
// [zerosync.ErrPass]; anything else that fails is a plain error.
func (r *Resolver) ask(ctx context.Context, a answer) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	r.log.DebugContext(ctx, "asking", "path", a.path, "base", len(a.base), "ours", len(a.ours), "theirs", len(a.theirs))
	msg, err := r.client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     r.model,
		MaxTokens: maxTokens(a),
		System:    []anthropic.TextBlockParam{{Text: systemPrompt}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock(prompt(a.path, a.base, a.ours, a.theirs, a.tag))),
		},
	}, option.WithRequestTimeout(r.timeout))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("%w: no answer in time: %w", zerosync.ErrPass, ctxErr)
		}
		return "", err
	}
	switch msg.StopReason {
	case anthropic.StopReasonEndTurn, anthropic.StopReasonStopSequence:
	case anthropic.StopReasonMaxTokens:
		return "", fmt.Errorf("%w: answer cut short at %d tokens", zerosync.ErrPass, maxTokens(a))
	default:
		return "", fmt.Errorf("%w: the model stopped for %q", zerosync.ErrPass, msg.StopReason)
	}
	var text strings.Builder
	for _, block := range msg.Content {
		if block.Type == "text" {
			text.WriteString(block.Text)
		}
	}
	return text.String(), nil
}

// maxTokens is the output budget: enough for the larger version at two
// bytes a token, plus room.
func maxTokens(a answer) int64 {
	n := int64(max(len(a.ours), len(a.theirs)))/2 + 1024
	return min(n, 32000)
}

// mergeMode returns the permission bits for merged content: theirs when
// only they changed the bits since the base, ours otherwise.
func mergeMode(c zerosync.Conflict) fs.FileMode {
	ours, theirs := c.Ours.Mode.Perm(), c.Theirs.Mode.Perm()
	if c.Base != nil && c.Base.Kind == zerosync.KindFile && ours == c.Base.Mode.Perm() {
		return theirs
	}
	return ours
}
