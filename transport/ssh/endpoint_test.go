package ssh

import (
	"fmt"
	"testing"
)

// Over the loopback sshd, the installed agent speaks path scans: a rescan
// of one file and one folder in a tree of 2,000 files sends only them, and
// agrees with a whole-tree scan.
func TestScanPathsOverSSH(t *testing.T) {
	f := newFixture(t)
	tr := f.transport(t)
	root := newDir(t, "root")
	for i := range 2000 {
		writeFile(t, root, fmt.Sprintf("d%03d/f%05d.txt", i/100, i), fmt.Appendf(nil, "file %d\n", i))
	}
	ctx := t.Context()
	ep, err := tr.Endpoint(ctx, f.target(), root)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	full, _, err := ep.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, ag, err := ep.inner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ag.rpc.Agent().PathScans {
		t.Fatalf("the agent %q does not speak path scans", ag.rpc.Agent().Version)
	}
	writeFile(t, root, "d003/f00305.txt", []byte("edited"))
	before := wire(tr)
	got, probs, err := ep.ScanPaths(ctx, []string{"d003/f00305.txt", "d005", "gone"})
	if err != nil || len(probs) > 0 {
		t.Fatalf("ScanPaths: %v %v", err, probs)
	}
	moved := wire(tr) - before
	t.Logf("a path scan of a file and a folder of 100 files over ssh: %d bytes", moved)
	if moved > 16<<10 {
		t.Fatalf("a path scan moved %d bytes", moved)
	}
	if len(got) != 102 {
		t.Fatalf("%d entries, want 102", len(got))
	}
	if e := got.Get("d003/f00305.txt"); e == nil || e.Size != int64(len("edited")) {
		t.Fatalf("the edited file: %v", e)
	}
	for p, e := range got {
		if p == "d003/f00305.txt" {
			continue
		}
		if want := full[p]; !want.Same(&e) {
			t.Fatalf("%s: %v, want %v", p, &e, &want)
		}
	}
}
