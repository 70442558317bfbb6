package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyUnit runs systemd-analyze verify on a user unit file, as the user
// manager would load it, with no systemd running (as in CI): its runtime
// directory is a temporary one. It returns what it printed; a unit that
// loads cleanly prints nothing.
func verifyUnit(t *testing.T, path string) (string, error) {
	t.Helper()
	runtime := t.TempDir()
	require.NoError(t, os.Chmod(runtime, 0o700))
	cmd := exec.Command("systemd-analyze", "--user", "verify", path)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInstallService: install-service writes a user unit that passes
// systemd-analyze verify, running this program by its absolute path with
// the command line's global flags (paths made absolute, awkward characters
// quoted for systemd), restarting on failure; it prints the systemctl
// commands, and replaces a unit only with --force.
func TestInstallService(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	root := filepath.Join(tmp, "my notes 100%", "$HOME")
	peer := filepath.Join(tmp, "peer")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.MkdirAll(peer, 0o755))
	t.Chdir(tmp)

	a := &App{Name: "notes", Summary: "notes on every host: 100% of them", DefaultRoot: "~/notes"}
	out, errs, err := cli(a, "install-service", "--root", root, "--peer", "server=peer", "--peer", "web=me@web:/srv/notes", "--staged", "web", "-v")
	require.NoError(t, err, errs)
	unit := filepath.Join(tmp, "config", "systemd", "user", "zerosync-notes.service")
	assert.Contains(t, out, "wrote "+unit)
	for _, want := range []string{"systemctl --user daemon-reload", "systemctl --user enable --now zerosync-notes.service", "journalctl --user -u zerosync-notes.service"} {
		assert.Contains(t, out, want)
	}
	b, err := os.ReadFile(unit)
	require.NoError(t, err)
	text := string(b)
	exe, err := os.Executable()
	require.NoError(t, err)
	wantExec := "ExecStart=" + exe + ` --root "` + strings.NewReplacer("%", "%%", "$", "$$").Replace(root) + `" --peer server=` + peer +
		" --peer web=me@web:/srv/notes --staged web --verbose run\n"
	assert.Contains(t, text, wantExec)
	assert.Contains(t, text, "Restart=on-failure\n")
	assert.Contains(t, text, "Description=zerosync notes: notes on every host: 100%% of them\n")
	assert.Contains(t, text, "WantedBy=default.target\n")
	assert.NotContains(t, text, "WatchdogSec", "the engine does not notify systemd yet")

	verified, err := verifyUnit(t, unit)
	require.NoError(t, err, verified)
	assert.Empty(t, verified)

	_, _, err = cli(a, "install-service", "--peer", "server=/x")
	require.ErrorContains(t, err, "install-service --force")
	_, errs, err = cli(a, "install-service", "--peer", "server=/x", "--force")
	require.NoError(t, err, errs)
	b, _ = os.ReadFile(unit)
	assert.Contains(t, string(b), "ExecStart="+exe+" --peer server=/x run\n")
	verified, err = verifyUnit(t, unit)
	require.NoError(t, err, verified)
	assert.Empty(t, verified)

	_, _, err = cli(a, "install-service")
	assert.ErrorContains(t, err, "no peers")
}

// TestVerifyUnitCatchesErrors: the check above fails a unit systemd would
// refuse, so its passing means something.
func TestVerifyUnitCatchesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "zerosync-bad.service")
	require.NoError(t, os.WriteFile(bad, []byte("[Service]\nExecStart="+filepath.Join(dir, "no-such-program")+" run\n"), 0o644))
	out, err := verifyUnit(t, bad)
	assert.Error(t, err, out)
	assert.Contains(t, out, "no-such-program")
	odd := filepath.Join(dir, "zerosync-odd.service")
	require.NoError(t, os.WriteFile(odd, []byte("[Service]\nExecStart=/bin/true\nRestart=sometimes\n"), 0o644))
	out, _ = verifyUnit(t, odd)
	assert.NotEmpty(t, out, "a bad setting is reported")
}

func TestSystemdArg(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/notes": "/usr/bin/notes",
		"server=host:/x": "server=host:/x",
		"/a b/c":         `"/a b/c"`,
		`say "hi"\`:      `"say \"hi\"\\"`,
		"100%":           "100%%",
		"$HOME":          "$$HOME",
		"it's":           `"it's"`,
		"":               `""`,
		"semi;colon":     `"semi;colon"`,
	} {
		got, err := systemdArg(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := systemdArg("new\nline")
	assert.Error(t, err)
}
