package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// unitName is the systemd unit of the engine called name.
func unitName(name string) string { return "zerosync-" + name + ".service" }

// unitDir is where systemd looks for a user's own units.
func unitDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "systemd", "user"), nil
}

// serviceArgs are the arguments the service runs the engine with: the
// global flags this command line gave, with every path made absolute (a
// service does not start in this directory), then run.
func (env *Env) serviceArgs(flags *pflag.FlagSet) ([]string, error) {
	var args []string
	if flags.Changed("config") {
		p, err := filepath.Abs(env.ConfigPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", p)
	}
	if flags.Changed("root") {
		args = append(args, "--root", env.Root)
	}
	if flags.Changed("peer") {
		for _, p := range env.Peers {
			loc := p.Location
			if _, _, remote := remoteLocation(loc); !remote {
				dir, err := expandHome(loc)
				if err != nil {
					return nil, err
				}
				loc = dir
			}
			args = append(args, "--peer", p.Name+"="+loc)
		}
	}
	if flags.Changed("staged") {
		for _, name := range env.Staged {
			args = append(args, "--staged", name)
		}
	}
	if flags.Changed("state") {
		args = append(args, "--state", env.State)
	}
	if flags.Changed("bwlimit") {
		args = append(args, "--bwlimit", env.BWLimit.String())
	}
	if flags.Changed("verbose") {
		args = append(args, "--verbose")
	}
	return append(args, "run"), nil
}

// unit returns the text of the engine's systemd user unit, running exe
// with args.
//
// It is Type=simple, with no WatchdogSec: the engine does not notify
// systemd of being ready or alive. The daemon's notifications (READY and
// WATCHDOG) come with the control work, and with them Type=notify and a
// WatchdogSec.
func (env *Env) unit(exe string, args []string) (string, error) {
	line, err := systemdArg(exe)
	if err != nil {
		return "", fmt.Errorf("the path of this program: %w", err)
	}
	for _, a := range args {
		q, err := systemdArg(a)
		if err != nil {
			return "", fmt.Errorf("argument %q: %w", a, err)
		}
		line += " " + q
	}
	desc := strings.ReplaceAll(Text(fmt.Sprintf("zerosync %s: %s", env.App.Name, env.App.Summary)), "%", "%%")
	return fmt.Sprintf(`# Written by "%[1]s install-service"; "%[1]s install-service --force" writes it anew.
[Unit]
Description=%[2]s

[Service]
Type=simple
ExecStart=%[3]s
Restart=on-failure
RestartSec=10s

[Install]
WantedBy=default.target
`, env.App.Name, desc, line), nil
}

// systemdArg writes s as one word of a unit's command line: as it is when
// it holds nothing systemd reads specially, otherwise in double quotes with
// backslashes and quotes escaped; "%" (a specifier) and "$" (a variable)
// are doubled in either case. A character that is not printable cannot be
// written.
func systemdArg(s string) (string, error) {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return "", fmt.Errorf("%q holds a character a unit file cannot hold", s)
		}
	}
	s = strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s, nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// installService writes the engine's systemd user unit, replacing one that
// is there only with force, and prints how to start it.
func (env *Env) installService(flags *pflag.FlagSet, force bool) error {
	if len(env.Peers) == 0 {
		return fmt.Errorf("no peers: give --peer NAME=WHERE, or write them in %s (%s init writes it)", Name(env.ConfigPath), env.App.Name)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find the path of this program: %w", err)
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		env.Log.Warn("this program is a temporary build (go run): the service would lose it; install it (go install) and run install-service from there", "path", exe)
	}
	args, err := env.serviceArgs(flags)
	if err != nil {
		return err
	}
	text, err := env.unit(exe, args)
	if err != nil {
		return err
	}
	dir, err := unitDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := unitName(env.App.Name)
	path := filepath.Join(dir, name)
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s is there already: run %s install-service --force to write it anew", path, env.App.Name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	w := env.Streams.Out
	fmt.Fprintf(w, "wrote %s\n", Name(path))
	fmt.Fprintf(w, "start it now and at every login:\n  systemctl --user daemon-reload\n  systemctl --user enable --now %s\n", name)
	fmt.Fprintf(w, "keep it running while you are logged out:\n  loginctl enable-linger \"$USER\"\n")
	fmt.Fprintf(w, "follow what it does:\n  journalctl --user -u %s -f\n", name)
	return nil
}
