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

// Versions runs a two-way example engine's versions commands on two
// temporary folders: once both hold a file, the peer replaces it and a sync
// carries that here; versions list must then show the old version, and
// versions restore must bring it back byte for byte, here and, after the
// sync it runs, on the peer.
func Versions(t *testing.T, a *app.App) {
	t.Helper()
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	// Every byte value, so "byte for byte" means it.
	tail := make([]byte, 256)
	for i := range tail {
		tail[i] = byte(i)
	}
	original := map[string][]byte{}
	for p, c := range candidates {
		original[p] = append([]byte(c), tail...)
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, original[p], 0o640); err != nil {
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
		return out.String()
	}
	run("once")
	var p string
	for q := range candidates {
		if b, err := os.ReadFile(filepath.Join(peer, q)); err == nil && bytes.Equal(b, original[q]) && (p == "" || q < p) {
			p = q
		}
	}
	if p == "" {
		t.Fatal("once synced nothing")
	}
	if err := os.WriteFile(filepath.Join(peer, p), []byte("replaced on the peer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("once")
	if b, _ := os.ReadFile(filepath.Join(root, p)); string(b) != "replaced on the peer\n" {
		t.Fatalf("the peer's edit did not arrive: %q holds %q", p, b)
	}

	out := run("versions", "list")
	id := ""
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 5 && f[1] == strconv.Quote(p) && f[len(f)-1] == "replaced" {
			id = f[0]
		}
	}
	if id == "" {
		t.Fatalf("versions list shows no replaced version of %q:\n%s", p, out)
	}
	if !strings.Contains(out, a.Name+" versions restore ") {
		t.Errorf("versions list names no command to restore with:\n%s", out)
	}
	if out := run("versions", "list", p); !strings.Contains(out, id) {
		t.Fatalf("versions list %s does not show %s:\n%s", p, id, out)
	}

	out = run("versions", "restore", p, id)
	for _, dir := range []string{root, peer} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || !bytes.Equal(b, original[p]) {
			t.Fatalf("after versions restore, %s holds %q (%v), want the original %d bytes\n%s", filepath.Join(dir, p), b, err, len(original[p]), out)
		}
	}
	// The peer's version, replaced by the restore, is a version now.
	if out := run("versions", "list", p); strings.Count(out, strconv.Quote(p)) != 2 {
		t.Errorf("after the restore, versions list %s:\n%s", p, out)
	}
}
