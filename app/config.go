package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/zerosync/zerosync/merge/ai"
)

// Config is an engine's configuration file: TOML, under
// $XDG_CONFIG_HOME/zerosync/NAME.toml ([ConfigPath]), written with comments
// by the init subcommand. Command-line flags override it: --root its root,
// and --peer, given at least once, all of its peers. A field left out keeps
// the engine's default.
type Config struct {
	// Root is this host's tree; a leading "~/" is the home directory.
	Root string `toml:"root"`
	// Include and Exclude add gitignore-syntax patterns to the engine's
	// own.
	Include []string `toml:"include"`
	Exclude []string `toml:"exclude"`
	// Rescan is the safety full rescan beside the watcher; "0s" turns it
	// off.
	Rescan *Duration `toml:"rescan"`
	// AIMerge, when set, says whether a conflict no other resolver settles
	// may be merged by Claude. Unset, the ANTHROPIC_API_KEY variable alone
	// decides, as without a configuration file.
	AIMerge *bool `toml:"ai_merge"`
	// BWLimit is every SSH peer's bandwidth limit, as --bwlimit gives it
	// ("2M"); a peer's own wins for its host.
	BWLimit Rate `toml:"bwlimit"`
	// Trees are the directories below the root that an engine syncing
	// several trees syncs ([App.Trees]); none is the whole root.
	Trees []string `toml:"trees,omitempty"`
	// Peers are the trees to sync with.
	Peers []ConfigPeer `toml:"peer"`
	// AgentLinger is how long the agent stays on each SSH host after its
	// last session, serving the next command's sessions without a shell
	// or a new agent started; "0s" ends it with its session. Unset: 10m.
	AgentLinger *Duration `toml:"agent_linger"`
	// Deadlines bound what may take long; zero keeps the default.
	Deadlines Deadlines `toml:"deadlines"`
	// Retry is how a running engine retries a peer that failed; a field
	// left out keeps the default.
	Retry Retry `toml:"retry"`
}

// Retry is how a running engine supervises each peer (see
// [engine.WithRetry]): a peer whose sync failed (its host unreachable, its
// agent gone) is tried again after First, the wait doubling after each
// further failure, while the other peers go on syncing; after Attempts
// failures in a row it is marked failed in status and tried every Slow.
// The same waits space the attempts to reach its host over SSH. Zero
// keeps the default: 1s, 5 attempts, 5m.
type Retry struct {
	First    Duration `toml:"first"`
	Attempts int      `toml:"attempts"`
	Slow     Duration `toml:"slow"`
}

// The supervision as the engine has it without a configuration file.
const (
	defaultRetryFirst    = time.Second
	defaultRetryAttempts = 5
	defaultRetrySlow     = 5 * time.Minute
)

// set reports whether the configuration changes the default supervision.
func (r Retry) set() bool { return r.First > 0 || r.Attempts > 0 || r.Slow > 0 }

// values returns the supervision's first wait, attempts and slow wait,
// the defaults where r leaves them out.
func (r Retry) values() (first time.Duration, attempts int, slow time.Duration) {
	first, attempts, slow = defaultRetryFirst, defaultRetryAttempts, defaultRetrySlow
	if r.First > 0 {
		first = time.Duration(r.First)
	}
	if r.Attempts > 0 {
		attempts = r.Attempts
	}
	if r.Slow > 0 {
		slow = time.Duration(r.Slow)
	}
	return first, attempts, slow
}

// ConfigPeer is a tree to sync with, as --peer NAME=WHERE gives it, and
// its bandwidth limit; over SSH, the limit of its host (the strictest when
// several peers share a host).
type ConfigPeer struct {
	Name     string `toml:"name"`
	Location string `toml:"location"`
	BWLimit  Rate   `toml:"bwlimit"`
}

// Deadlines bound the steps of a sync that wait on something outside.
type Deadlines struct {
	// Connect bounds reaching a peer over SSH: the TCP connection and the
	// handshake of every hop.
	Connect Duration `toml:"connect"`
	// AIMerge bounds one AI merge, retries included.
	AIMerge Duration `toml:"ai_merge"`
}

// Duration is a time.Duration written as Go writes it: "15s", "10m",
// "1h30m".
type Duration time.Duration

// UnmarshalText reads a duration such as "15s"; negative ones are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go writes it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// The deadlines as the engine has them without a configuration file.
const (
	defaultConnect = 30 * time.Second // transport/ssh's dial timeout
	// defaultAgentLinger is how long agents stay after their last session.
	defaultAgentLinger = 10 * time.Minute
	defaultAIMerge     = ai.DefaultTimeout
)

// configRoot returns a root as init writes it: as given when it starts
// from the home directory ("~/..."), else the absolute path abs.
func configRoot(given, abs string) string {
	if strings.HasPrefix(given, "~/") || given == "~" {
		return given
	}
	return abs
}

// ConfigPath returns where the configuration file of the engine called name
// is: $XDG_CONFIG_HOME/zerosync/NAME.toml, by default
// ~/.config/zerosync/NAME.toml.
func ConfigPath(name string) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "zerosync", name+".toml"), nil
}

// ReadConfig reads and checks a configuration file. A key it does not know
// is an error naming it, so a misspelt setting is not silently ignored. A
// missing file is an error wrapping [fs.ErrNotExist].
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(path, b)
}

// parseConfig reads and checks b, the configuration file at path.
func parseConfig(path string, b []byte) (*Config, error) {
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			return nil, fmt.Errorf("%s: unknown setting: %s", path, strings.TrimSpace(strict.String()))
		case errors.As(err, &de):
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %w", path, row, col, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, t := range c.Trees {
		if err := checkTree(t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	seen := map[string]bool{}
	for i, p := range c.Peers {
		if err := checkPeer(p.Name, p.Location); err != nil {
			return nil, fmt.Errorf("%s: peer %d: %w", path, i+1, err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("%s: two peers are called %q", path, p.Name)
		}
		seen[p.Name] = true
	}
	if d := c.AgentLinger; d != nil && *d > 0 && time.Duration(*d) < time.Second {
		return nil, fmt.Errorf("%s: agent_linger %v is under a second (\"0s\" turns it off)", path, time.Duration(*d))
	}
	if c.Retry.Attempts < 0 {
		return nil, fmt.Errorf("%s: retry: %d attempts", path, c.Retry.Attempts)
	}
	if first, _, slow := c.Retry.values(); slow < first {
		return nil, fmt.Errorf("%s: retry: slow %v is shorter than first %v", path, slow, first)
	}
	return &c, nil
}

// readConfigIfAny reads the configuration file at path; a missing file is
// no configuration (nil) unless the person named it (explicit).
func readConfigIfAny(path string, explicit bool) (*Config, error) {
	c, err := ReadConfig(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	return c, err
}

// checkPeer checks a peer's name and location as --peer and the
// configuration file give them.
func checkPeer(name, location string) error {
	switch {
	case name == "":
		return errors.New("a peer needs a name")
	case location == "":
		return fmt.Errorf("peer %q has no location", name)
	case strings.ContainsAny(name, "=#/"):
		return fmt.Errorf("peer name %q holds one of = # /", name)
	}
	return nil
}

// configTemplate is the file init writes. Values are TOML, written by
// [tomlValue].
var configTemplate = template.Must(template.New("config").Funcs(template.FuncMap{"toml": tomlValue, "line": Text}).Parse(
	`# Configuration of the zerosync engine "{{.Name}}": {{line .Summary}}.
# Written by "{{.Name}} init". Command-line flags override it: --root the root,
# and --peer (given at least once) every peer below.

# root is this host's tree; a leading "~/" is the home directory.
root = {{toml .Root}}

# include and exclude add gitignore-syntax patterns to the engine's own.
# The engine's own: include {{.OwnInclude}}; exclude {{.OwnExclude}}
# With no include pattern at all, everything that is not excluded is synced.
include = []
exclude = []
{{- if .Trees}}

# trees are the directories below the root to sync ("{{.Name}} trees add"
# adds one live), each at the same place below every host's root, such as
# ["app", "work/lib"]. With none, the whole root is synced.
trees = []
{{- end}}

# rescan is the safety full rescan beside the watcher, such as "15s" or
# "10m"; "0s" turns it off.
rescan = {{toml .Rescan}}

# bwlimit holds every peer over SSH to at most this many bytes a second
# each way, as rsync's --bwlimit: "500K", "2M", "1.5MB" (no unit: KiB).
# A [[peer]] may have its own (over SSH, its host's). "0" is no limit.
# bwlimit = "2M"

# agent_linger keeps the agent on each SSH host for this long after its
# last session: the next command (not the daemon, "run") reaches it at
# once, with no shell and no agent started (as ssh's ControlPersist).
# "0s" ends it with its session.
agent_linger = {{toml .AgentLinger}}

# ai_merge lets Claude merge a conflict that no other resolver settles
# (the file's versions are sent to Anthropic's API; it needs the
# ANTHROPIC_API_KEY variable). Files that look secret (.env, keys,
# certificates) are never sent, and every AI merge waits for review.
ai_merge = false

# Each [[peer]] is a tree to sync with: a directory of this host,
# HOST:PATH over SSH (a relative PATH is in the remote home), or
# ssh://[USER@]HOST[:PORT]/PATH. name names it in status and conflicts.
{{- range .Peers}}
[[peer]]
name = {{toml .Name}}
location = {{toml .Location}}
{{- else}}
# [[peer]]
# name = "server"
# location = {{toml .Example}}
{{- end}}

[deadlines]
# connect bounds reaching a peer over SSH: the connection and the handshake.
connect = {{toml .Connect}}
# ai_merge bounds one AI merge, retries included.
ai_merge = {{toml .AIMerge}}

[retry]
# A peer whose sync failed (its host unreachable) is tried again after
# first, the wait doubling after each further failure, while the others
# go on syncing; after attempts failures in a row it shows as failed in
# status and is tried every slow.
# first = "1s"
# attempts = 5
# slow = "5m"
`))

// tomlValue writes v as a TOML value.
func tomlValue(v any) (string, error) {
	b, err := toml.Marshal(map[string]any{"v": v})
	if err != nil {
		return "", err
	}
	s, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "v = ")
	if !ok {
		return "", fmt.Errorf("cannot write %v in TOML", v)
	}
	return s, nil
}

// initConfig writes a commented configuration file for the engine at path,
// with this command line's root and peers; it never replaces a file that
// is there.
func (env *Env) initConfig(path, root string, peers []Peer) error {
	a := env.App
	b, err := env.configText(root, peers)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s is there already: edit it, or remove it and run %s init again", path, a.Name)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Streams.Out, "wrote %s\n", Name(path))
	if len(peers) == 0 {
		fmt.Fprintf(env.Streams.Out, "add the peers to sync with in it, then ")
	} else {
		fmt.Fprint(env.Streams.Out, "now ")
	}
	fmt.Fprintf(env.Streams.Out, "see what a sync would do with: %s plan\n", a.Name)
	fmt.Fprintf(env.Streams.Out, "and keep it in sync as a service with: %s install-service\n", a.Name)
	return nil
}

// configText is the commented configuration file init writes, with root
// and peers.
func (env *Env) configText(root string, peers []Peer) ([]byte, error) {
	a := env.App
	data := struct {
		Name, Summary, Root, Example string
		OwnInclude, OwnExclude       string
		Rescan, Connect, AIMerge     Duration
		AgentLinger                  Duration
		Peers                        []Peer
		Trees                        bool
	}{
		Name: a.Name, Summary: a.Summary, Root: root, Peers: peers, Trees: a.Trees,
		OwnInclude: patternList(a.Include), OwnExclude: patternList(a.Exclude),
		Rescan: Duration(a.Rescan), Connect: Duration(defaultConnect), AIMerge: Duration(defaultAIMerge),
		AgentLinger: Duration(defaultAgentLinger),
		Example:     "server:" + strings.TrimPrefix(strings.TrimPrefix(root, "~/"), "~"),
	}
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// patternList writes patterns for a comment: each Go-quoted where needed,
// or "none".
func patternList(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = Name(p)
	}
	return strings.Join(out, " ")
}
