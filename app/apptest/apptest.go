// Package apptest smoke-tests the example engines' command lines.
package apptest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zerosync/zerosync/app"
)

// candidates are files one of which every example engine syncs.
var candidates = map[string]string{
	".bashrc":             "export EDITOR=vim\n",
	"tools/run.sh":        "#!/bin/sh\necho run\n",
	"app.groovy":          "definition(name: \"app\")\n",
	"sketch/sketch.ino":   "void setup() {}\nvoid loop() {}\n",
	"index.html":          "<h1>hello</h1>\n",
	"notes/readme.md":     "# notes\n",
	"node_modules/x/y.js": "excluded by most\n",
	// Names that would clear the screen, set the terminal's title and
	// forge a report line if printed raw.
	evil + ".md":                     "# escaped\n",
	"bin/" + evil + "\x1b]0;owned\a": "escaped\n",
}

// evil starts every name that must be escaped when printed.
const evil = "evil\x1b[2J\n" + forged

// forged is a line a raw name would forge in the report.
const forged = "Applied: fake"

// checkEscaped fails the test when out, the output of the command args,
// holds a control character other than a newline, or a line forged by a
// name.
func checkEscaped(t *testing.T, args []string, out string) {
	t.Helper()
	for _, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || (0x80 <= r && r < 0xa0) {
			t.Errorf("%v printed the control character %U:\n%q", args, r, out)
			return
		}
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, forged) {
			t.Errorf("%v printed a line a file name forged:\n%s", args, out)
			return
		}
	}
}

// Smoke runs an example engine's commands on two temporary folders: once
// must carry at least one file across and never alter one; plan must then
// have nothing to do; status, pause, resume and conflicts list must work.
// No command may print a control character other than a newline: file names
// that hold escape sequences and newlines are printed escaped.
func Smoke(t *testing.T, a *app.App) {
	t.Helper()
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	for p, c := range candidates {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(peer, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		s := app.Streams{In: strings.NewReader(""), Out: &out, Err: &out}
		all := append([]string{"--root", root, "--peer", "peer=" + peer, "--state", filepath.Join(tmp, "state", a.Name+".db")}, args...)
		if err := a.Run(context.Background(), all, s); err != nil {
			t.Fatalf("%s %v: %v\n%s", a.Name, args, err, out.String())
		}
		checkEscaped(t, args, out.String())
		return out.String()
	}
	out := run("once")
	copied := 0
	for p, c := range candidates {
		b, err := os.ReadFile(filepath.Join(peer, p))
		if err != nil {
			continue
		}
		if string(b) != c {
			t.Errorf("%s: peer holds %q, want %q", p, b, c)
		}
		if strings.Contains(p, evil) && !strings.Contains(out, strconv.Quote(p)) {
			t.Errorf("once synced %q but does not print it quoted:\n%s", p, out)
		}
		copied++
	}
	if copied == 0 {
		t.Fatalf("once synced nothing:\n%s", out)
	}
	if out := run("plan"); !strings.Contains(out, "0 change(s), 0 conflict(s)") {
		t.Errorf("plan after a sync has work:\n%s", out)
	}
	if out := run("status"); !strings.Contains(out, "paused: false") {
		t.Errorf("status:\n%s", out)
	}
	run("pause")
	if out := run("status"); !strings.Contains(out, "paused: true") {
		t.Errorf("status after pause:\n%s", out)
	}
	run("resume")
	if out := run("conflicts", "list"); !strings.Contains(out, "no conflicts") {
		t.Errorf("conflicts list:\n%s", out)
	}
}
