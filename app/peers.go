package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/zerosync/zerosync/control"
)

// attach starts syncing with the tree at location as the peer name: the
// running daemon does so at once, and the configuration file keeps it for
// the next start. Without a daemon, only the file changes.
func (env *Env) attach(ctx context.Context, name, location string) error {
	if err := checkPeer(name, location); err != nil {
		return usageError(err)
	}
	c, err := env.daemon(ctx)
	if err != nil {
		return err
	}
	peers := slices.Clone(env.Peers)
	if c != nil {
		defer c.Close()
		if _, err := c.Attach(ctx, name, location); err != nil {
			return err
		}
		fmt.Fprintf(env.Streams.Out, "attached %s (%s): the running daemon syncs with it now\n", Name(name), Name(location))
		if peers, err = daemonPeers(ctx, c); err != nil {
			return err
		}
	}
	peers = slices.DeleteFunc(peers, func(p Peer) bool { return p.Name == name })
	peers = append(peers, Peer{Name: name, Location: location})
	if err := env.writePeers(peers, &Peer{Name: name, Location: location}, ""); err != nil {
		return err
	}
	fmt.Fprintf(env.Streams.Out, "wrote peer %s to %s\n", Name(name), Name(env.ConfigPath))
	if c == nil {
		fmt.Fprintf(env.Streams.Out, "no daemon of %s is running: the next %s run syncs with it\n", env.App.Name, env.App.Name)
	}
	return nil
}

// detach stops syncing with the peer name: the running daemon at once, and
// the configuration file drops it. Its state is kept.
func (env *Env) detach(ctx context.Context, name string) error {
	c, err := env.daemon(ctx)
	if err != nil {
		return err
	}
	peers := slices.Clone(env.Peers)
	if c != nil {
		defer c.Close()
		if err := c.Detach(ctx, name); err != nil {
			if !errors.Is(err, fs.ErrNotExist) || !env.configHas(name) {
				return err
			}
		} else {
			fmt.Fprintf(env.Streams.Out, "detached %s: the running daemon no longer syncs with it\n", Name(name))
		}
		if peers, err = daemonPeers(ctx, c); err != nil {
			return err
		}
	}
	if !env.configHas(name) {
		if c == nil {
			return fmt.Errorf("no peer %s in %s, and no daemon of %s is running", Name(name), Name(env.ConfigPath), env.App.Name)
		}
		return nil
	}
	peers = slices.DeleteFunc(peers, func(p Peer) bool { return p.Name == name })
	if err := env.writePeers(peers, nil, name); err != nil {
		return err
	}
	fmt.Fprintf(env.Streams.Out, "removed peer %s from %s\n", Name(name), Name(env.ConfigPath))
	return nil
}

// daemonPeers are the peers a daemon syncs with now.
func daemonPeers(ctx context.Context, c *control.Client) ([]Peer, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []Peer
	for _, p := range st.Peers {
		out = append(out, Peer{Name: p.Name, Location: p.Location})
	}
	return out, nil
}

// configHas says whether the configuration file names the peer name.
func (env *Env) configHas(name string) bool {
	cfg, err := ReadConfig(env.ConfigPath)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(cfg.Peers, func(p ConfigPeer) bool { return p.Name == name })
}

// writePeers writes a peer attached (add) or detached (remove) to the
// configuration file, keeping the rest of it, comments included. A file
// that is missing is written as init writes it, with peers (the daemon's,
// or this command line's) as its peers.
func (env *Env) writePeers(peers []Peer, add *Peer, remove string) error {
	path := env.ConfigPath
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		root := env.Root
		if def, err := expandHome(env.App.DefaultRoot); err == nil && def == env.Root {
			root = configRoot(env.App.DefaultRoot, env.Root)
		}
		text, err := env.configText(root, peers)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		return writeFileAtomic(path, text, 0o600)
	}
	if err != nil {
		return err
	}
	cfg, err := ReadConfig(path)
	if err != nil {
		return fmt.Errorf("%w; fix it, then attach or detach again", err)
	}
	want := slices.Clone(cfg.Peers)
	text := string(old)
	added := ConfigPeer{}
	if add != nil {
		remove = add.Name
		added = ConfigPeer{Name: add.Name, Location: add.Location}
		// A peer attached again at another place keeps its settings.
		if i := slices.IndexFunc(want, func(p ConfigPeer) bool { return p.Name == add.Name }); i >= 0 {
			added.BWLimit = want[i].BWLimit
		}
	}
	if remove != "" {
		want = slices.DeleteFunc(want, func(p ConfigPeer) bool { return p.Name == remove })
		text = dropPeer(text, remove)
	}
	if add != nil {
		want = append(want, added)
		table, err := peerTable(added)
		if err != nil {
			return err
		}
		text = strings.TrimRight(text, "\n") + "\n\n" + table
	}
	return env.writeConfigEdit(path, text, cfg,
		func(got *Config) bool { return slices.Equal(got.Peers, want) },
		func(c *Config) { c.Peers = want })
}

// writeConfigEdit writes text, an edit of cfg's configuration file at
// path, when it reads back as wanted (check); otherwise (the file holds
// the edited key in a form the edit does not know, such as an inline
// array) it writes cfg anew with set applied, without the file's comments,
// and says so. The file keeps its permission bits.
func (env *Env) writeConfigEdit(path, text string, cfg *Config, check func(*Config) bool, set func(*Config)) error {
	if got, err := parseConfig(path, []byte(text)); err != nil || !check(got) {
		env.Log.Warn("rewriting the configuration file without its comments", "file", path)
		set(cfg)
		b, err := toml.Marshal(cfg)
		if err != nil {
			return err
		}
		text = string(b)
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return writeFileAtomic(path, []byte(text), mode)
}

// peerTable is a [[peer]] table of the configuration file.
func peerTable(p ConfigPeer) (string, error) {
	name, err := tomlValue(p.Name)
	if err != nil {
		return "", err
	}
	loc, err := tomlValue(p.Location)
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("[[peer]]\nname = %s\nlocation = %s\n", name, loc)
	if p.BWLimit != 0 {
		rate, err := tomlValue(p.BWLimit.String())
		if err != nil {
			return "", err
		}
		s += "bwlimit = " + rate + "\n"
	}
	return s, nil
}

// tableHeader matches a line that starts a TOML table; peerHeader one that
// starts a [[peer]] table.
var (
	tableHeader = regexp.MustCompile(`^\s*\[`)
	peerHeader  = regexp.MustCompile(`^\s*\[\[\s*peer\s*\]\]\s*(#.*)?$`)
)

// dropPeer removes from text, a configuration file, the [[peer]] tables
// whose name is name; the comments and blank lines before the next table
// stay, as they belong to it.
func dropPeer(text, name string) string {
	lines := strings.SplitAfter(text, "\n")
	var out []string
	for i := 0; i < len(lines); {
		if !peerHeader.MatchString(lines[i]) {
			out = append(out, lines[i])
			i++
			continue
		}
		end := i + 1
		for end < len(lines) && !tableHeader.MatchString(lines[end]) {
			end++
		}
		last := end // past the table's last key
		for last > i+1 {
			l := strings.TrimSpace(lines[last-1])
			if l != "" && !strings.HasPrefix(l, "#") {
				break
			}
			last--
		}
		var p ConfigPeer
		if toml.Unmarshal([]byte(strings.Join(lines[i+1:last], "")), &p) == nil && p.Name == name {
			out = append(out, lines[last:end]...)
		} else {
			out = append(out, lines[i:end]...)
		}
		i = end
	}
	return strings.Join(out, "")
}

// writeFileAtomic replaces the file at path with b: a reader sees the old
// file or the new one, never a part.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
