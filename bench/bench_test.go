package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zerosync/zerosync/agent"
)

// TestMain lets the test binary serve as the harness's child processes
// (cold zerosync runs, the engine whose memory is measured) and as the
// zerosync agent on the far side of the sshd, as the program itself does.
func TestMain(m *testing.M) {
	agent.Handle()
	if isChild() {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// TestQuick runs the harness end to end in quick mode, with a real sshd,
// rsync and unison, and asserts what it can without timing anything: every
// tool's result tree is identical to its source after every workload, every
// workload produced its row, and bytes were counted on the wire.
func TestQuick(t *testing.T) {
	cfg := quickConfig()
	cfg.Dir = t.TempDir()
	cfg.Log = testWriter{t}
	res, err := run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.failed() {
		t.Errorf("%s, %s, %s: trees differ: %s", c.Mode, c.Workload, c.Tool, c.Diff)
	}

	// Every tool was checked after every workload that changes trees.
	checked := map[string]bool{}
	for _, c := range res.Checks {
		checked[c.Mode+"/"+c.Workload+"/"+c.Tool] = true
		if c.Entries == 0 {
			t.Errorf("%s, %s, %s: an empty tree proves nothing", c.Mode, c.Workload, c.Tool)
		}
		if c.Runs < 1 {
			t.Errorf("%s, %s, %s: no run checked", c.Mode, c.Workload, c.Tool)
		}
	}
	// Checked after every run, not only the last: the running engine's
	// edits ran a warm-up and a measured run, then a check after Close.
	for _, c := range res.Checks {
		if c.Workload == "10 small edits (running engine)" && c.Runs < 3 {
			t.Errorf("%s, %s: checked after %d runs, want every run", c.Mode, c.Workload, c.Runs)
		}
		if c.Tool == "rsync" && c.Times != timesFiles || c.Tool == "unison" && c.Times != timesFilesSeconds {
			t.Errorf("%s, %s, %s: compares %s", c.Mode, c.Workload, c.Tool, c.Times)
		}
	}
	// The fleet: every host's tree, for zerosync and the rsync fan-out.
	for _, n := range cfg.FleetHosts {
		for i := range n {
			for _, tool := range []string{"zerosync", "rsync"} {
				if w := fmt.Sprintf("fleet/fan-out to host-%02d of %d/%s", i+1, n, tool); !checked[w] {
					t.Errorf("%s: no tree check", w)
				}
			}
		}
	}
	for _, mode := range []string{"local", "ssh"} {
		tools := []string{"rsync", "rsync --fsync", "unison", "zerosync"}
		for _, w := range []string{"initial sync", "10 small edits", "delta"} {
			for _, tool := range tools {
				if !checked[mode+"/"+w+"/"+tool] {
					t.Errorf("%s, %s, %s: no tree check", mode, w, tool)
				}
			}
		}
		// The floor beside the initial sync, checked like the tools.
		floor := map[string]string{"local": "plain copy", "ssh": "tar over ssh"}[mode]
		if !checked[mode+"/initial sync/"+floor] {
			t.Errorf("%s, initial sync, %s: no tree check", mode, floor)
		}
		if slices.Contains(tools, "zerosync") {
			for _, w := range []string{"10 small edits (running engine)", "delta (running engine)", "latency"} {
				if !checked[mode+"/"+w+"/zerosync"] {
					t.Errorf("%s, %s, zerosync: no tree check", mode, w)
				}
			}
		}
	}

	// Every workload has its row, with real figures for the peers.
	rows := map[string]row{}
	for _, s := range res.Sections {
		for _, r := range s.Rows {
			rows[s.Title+"/"+r.Workload] = r
		}
	}
	want := []string{"initial sync", "no-op re-sync, cold process", "no-op re-sync, running engine",
		"small files edited, cold process", "small files edited, running engine",
		"propagation in watch mode, p50", "propagation in watch mode, p99", "middle of a"}
	for _, s := range res.Sections[:2] {
		for _, w := range want {
			found := false
			for _, r := range s.Rows {
				if strings.Contains(r.Workload, w) {
					found = true
					if !r.ZS.ok() {
						t.Errorf("%s: %s: zerosync has no figure: %s", s.Title, r.Workload, r.ZS.Note)
					}
				}
			}
			if !found {
				t.Errorf("%s: no row for %q", s.Title, w)
			}
		}
	}
	// The initial sync's row has the floor's figure beside the peers'.
	for _, s := range res.Sections[:2] {
		for _, r := range s.Rows {
			if strings.Contains(r.Workload, "to an empty folder") && !r.peer("plain copy").ok() && !r.peer("tar over ssh").ok() {
				t.Errorf("%s: %s: no figure for the floor", s.Title, r.Workload)
			}
		}
	}
	var fleetRows, farRows, agentRows int
	for key, r := range rows {
		switch {
		case strings.HasPrefix(key, "Fleet: "):
			fleetRows++
			if !r.ZS.ok() {
				t.Errorf("%s: zerosync has no figure: %s", key, r.ZS.Note)
			}
			if strings.Contains(key, "edit on the hub") && !r.Peers[0].Fig.ok() {
				t.Errorf("%s: the rsync fan-out has no figure: %s", key, r.Peers[0].Fig.Note)
			}
		case strings.Contains(key, "propagation from the far side"):
			farRows++
			if !r.ZS.ok() {
				t.Errorf("%s: no figure: %s", key, r.ZS.Note)
			}
		case strings.Contains(key, "of the far agent"):
			agentRows++
			if !r.ZS.ok() || r.ZS.Value <= 0 {
				t.Errorf("%s: no figure: %s", key, r.ZS.Note)
			}
		}
	}
	if fleetRows != 9 || farRows != 2 || agentRows != 1 {
		t.Errorf("rows: %d fleet (want 9), %d far side (want 2), %d far agent (want 1)", fleetRows, farRows, agentRows)
	}
	var sawWire, sawRaw, sawMemory bool
	restarted := 0
	for key, r := range rows {
		switch {
		case strings.Contains(key, "bytes on the wire"):
			for _, p := range r.Peers {
				if !p.Fig.ok() || p.Fig.Value <= 0 {
					t.Errorf("%s: %s moved no bytes through the proxy", key, p.Name)
				}
			}
			sawWire = true
		case strings.Contains(key, "raw limit"):
			sawRaw = len(r.Peers) == 2 && r.Peers[0].Fig.ok() && r.Peers[1].Fig.ok()
		case strings.Contains(key, "resident memory"):
			sawMemory = r.ZS.ok() && r.ZS.Value > 0
			if strings.Contains(key, "restarted on its state") && r.ZS.ok() && r.ZS.Value > 0 {
				restarted++
			}
		}
	}
	if restarted != 2 {
		t.Errorf("%d rows of an engine restarted on its state with a figure, want 2 (local, ssh)", restarted)
	}
	if !sawWire || !sawRaw || !sawMemory {
		t.Errorf("rows missing: wire bytes %v, raw ssh %v, memory %v", sawWire, sawRaw, sawMemory)
	}

	var md bytes.Buffer
	if err := res.markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| workload | zerosync | peer |", "### Local folders", "### Identical trees", "| CPUs (nproc) |",
		"### Where we stand", "Load average (1, 5, 15 min): ", "### Fleet: a hub and 8 hosts over SSH", "### Running engine on a large tree over SSH"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	// Every goal has a verdict in every column it applies to.
	for _, g := range goals {
		for _, col := range g.cols {
			if res.Stands[g.key+"\x00"+col] == "" {
				t.Errorf("where we stand: %q has no verdict for %s", g.text, col)
			}
		}
	}
	if t.Failed() {
		t.Log(md.String())
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// smallTree is a tree of every kind of entry, small enough for a unit test.
var smallTree = treeSpec{Small: 60, SmallMax: 4 << 10, FilesPerDir: 6, Medium: 2, MediumMin: 10 << 10, MediumMax: 20 << 10,
	Large: 1, LargeSize: 100 << 10, Symlinks: 6, EmptyDirs: 2}

func TestGenerateIsDeterministic(t *testing.T) {
	spec := smallTree
	dir := t.TempDir()
	list := func(name string, seed uint64) (listing, treeStats) {
		root := filepath.Join(dir, name)
		st, err := generate(root, spec, seed)
		if err != nil {
			t.Fatal(err)
		}
		l, err := listTree(root, timesNone)
		if err != nil {
			t.Fatal(err)
		}
		return l, st
	}
	a, st := list("a", 7)
	b, _ := list("b", 7)
	c, _ := list("c", 8)
	if d := a.diff(b); d != "" {
		t.Errorf("same seed, different trees: %s", d)
	}
	if a.diff(c) == "" {
		t.Error("different seeds, same tree")
	}
	if len(a) != st.Entries() {
		t.Errorf("listed %d entries, generator reported %d", len(a), st.Entries())
	}
	if st.Files != 63 || st.Symlinks != 6 || len(st.Small) != 60 || len(st.Large) != 1 {
		t.Errorf("stats %+v", st)
	}
	kinds := map[string]int{}
	for _, l := range a {
		kinds[strings.Fields(l)[1]]++
	}
	if kinds["file"] != 63 || kinds["symlink"] != 6 || kinds["dir"] != st.Dirs {
		t.Errorf("kinds %v, stats %+v", kinds, st)
	}
	// The modification times are fixed too.
	info, err := os.Stat(filepath.Join(dir, "a", filepath.FromSlash(st.Small[0])))
	if err != nil {
		t.Fatal(err)
	}
	if !info.ModTime().Equal(genEpoch) {
		t.Errorf("mtime %v, want %v", info.ModTime(), genEpoch)
	}
}

func TestListingDiff(t *testing.T) {
	want := listing{"a dir 755", "a/b file 644 00", "c symlink a"}
	if d := want.diff(slices.Clone(want)); d != "" {
		t.Errorf("equal listings differ: %s", d)
	}
	d := want.diff(listing{"a dir 755", "a/b file 644 11", "c symlink a"})
	if !strings.Contains(d, "missing: a/b file 644 00") || !strings.Contains(d, "extra:   a/b file 644 11") {
		t.Errorf("diff %q", d)
	}
}

func TestListTreeSeesModesAndLeftovers(t *testing.T) {
	root := t.TempDir()
	write := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("f", 0o644)
	before, err := listTree(root, timesNone)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "f"), 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := listTree(root, timesNone)
	if err != nil {
		t.Fatal(err)
	}
	if before.diff(after) == "" {
		t.Error("a mode change went unseen")
	}
	// A tool's leftover temp file is a difference; zerosync's reserved
	// names are not.
	write(".unison.f.tmp", 0o644)
	if err := os.Mkdir(filepath.Join(root, ".zerosync"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(".zerosync/x", 0o644)
	l, err := listTree(root, timesNone)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || !strings.HasPrefix(l[0], ".unison.f.tmp file") {
		t.Errorf("listing %q", l)
	}
}

func TestEditMiddle(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big")
	orig := bytes.Repeat([]byte{'a'}, 64<<10)
	if err := os.WriteFile(file, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	var mtimes []time.Time
	var prev []byte
	for run := range 2 {
		if err := editMiddle(file, 4<<10, run); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(orig) {
			t.Fatalf("size %d, want %d", len(got), len(orig))
		}
		lo, hi := 30<<10, 34<<10
		if !bytes.Equal(got[:lo], orig[:lo]) || !bytes.Equal(got[hi:], orig[hi:]) {
			t.Error("bytes outside the middle 4 KiB changed")
		}
		if bytes.Equal(got[lo:hi], orig[lo:hi]) || bytes.Equal(got, prev) {
			t.Error("the middle did not change")
		}
		prev = got
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		mtimes = append(mtimes, info.ModTime())
	}
	if mtimes[0].Unix() == mtimes[1].Unix() {
		t.Errorf("two runs left the same second as modification time: %v", mtimes)
	}
}

func TestEditSmall(t *testing.T) {
	root := t.TempDir()
	files := []string{"a", "b", "c"}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(root, f), []byte("body\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths := pickSmall(files, 2, 1)
	if !slices.Equal(paths, []string{"c", "a"}) {
		t.Fatalf("run 1 picks %q, want c and a", paths)
	}
	if err := editSmall(root, paths, 1); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"a": "// edit 1.1\nbody\n", "b": "body\n", "c": "// edit 1.0\nbody\n"} {
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {50, 3}, {100, 5}, {25, 2}, {99, 4.96}} {
		if got := percentile(xs, c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := median([]float64{1, 2, 3, 10}); got != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", got)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is a number")
	}
	if !slices.Equal(xs, []float64{5, 1, 4, 2, 3}) {
		t.Error("percentile sorted its input")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		u    unit
		want string
	}{
		{0.0000123, unitSeconds, "12.3 µs"}, {0.00412, unitSeconds, "4.12 ms"}, {0.25, unitSeconds, "250 ms"}, {12.5, unitSeconds, "12.5 s"},
		{512, unitBytes, "512 B"}, {4096, unitBytes, "4.00 KiB"}, {300 << 20, unitBytes, "300 MiB"}, {3 << 29, unitRate, "1.50 GiB/s"},
		{math.NaN(), unitSeconds, "—"},
	} {
		if got := fmtValue(c.v, c.u); got != c.want {
			t.Errorf("fmtValue(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := measured([]float64{0.003, 0.001, 0.002}, unitSeconds).String(); got != "2.00 ms (1.00 ms–3.00 ms)" {
		t.Errorf("figure = %q", got)
	}
	if got := measured([]float64{0.003, 0.001}, unitSeconds).String(); got != "2.00 ms" {
		t.Errorf("figure of two runs = %q", got)
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands = %q", got)
	}
	if got := ratio(1, 4); got != "0.25×" {
		t.Errorf("ratio = %q", got)
	}
}

func TestVerdicts(t *testing.T) {
	zs, peer := single(1, unitSeconds), single(4, unitSeconds)
	if v := verdictRatio(zs, peer, 0.4); !strings.HasPrefix(v, "met (0.25×") {
		t.Errorf("verdictRatio = %q", v)
	}
	if v := verdictRatio(peer, zs, 0.4); !strings.HasPrefix(v, "**missed** (4.00×") {
		t.Errorf("verdictRatio = %q", v)
	}
	if v := verdictRatio(absent("pending"), peer, 1); v != "not measured" {
		t.Errorf("verdictRatio of an absent figure = %q", v)
	}
	if v := verdictBelow(single(0.004, unitSeconds), 0.005); v != "met (4.00 ms)" {
		t.Errorf("verdictBelow = %q", v)
	}
	if v := verdictAtLeast(single(50, unitRate), 100, 0.6); v != "**missed** (50 %)" {
		t.Errorf("verdictAtLeast = %q", v)
	}
}

// TestProxyCounts sends known amounts both ways through the proxy to an
// echo server and checks the counts once the connection is closed.
func TestProxyCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	p, err := newProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 3<<20 + 12345
	for range 2 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.port()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(c)
			done <- b
		}()
		if _, err := c.Write(bytes.Repeat([]byte{'z'}, n)); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		if got := <-done; len(got) != n {
			t.Fatalf("echoed %d bytes, want %d", len(got), n)
		}
		c.Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := p.idle(ctx); err != nil {
		t.Fatal(err)
	}
	if up, down := p.counts(); up != 2*n || down != 2*n {
		t.Errorf("counted %d up, %d down; want %d each", up, down, 2*n)
	}

	// An open connection is counted as it goes.
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("hello through the proxy")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	want := int64(2*n + len(msg))
	deadline := time.Now().Add(5 * time.Second)
	for {
		up, down := p.counts()
		if up == want && down == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open connection: counted %d up, %d down; want %d each", up, down, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCLIRejectsBadUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := cliMain([]string{"-no-such-flag"}, &out, &errOut); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if code := cliMain([]string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "usage:") {
		t.Errorf("no usage in %q", errOut.String())
	}
}

func TestCLIRejectsUnknownMode(t *testing.T) {
	var out, errOut bytes.Buffer
	code := cliMain([]string{"-quick", "-q", "-memory=false", "-modes", "carrier-pigeon", "-dir", t.TempDir()}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `unknown mode "carrier-pigeon"`) {
		t.Errorf("exit code %d, stderr %q", code, errOut.String())
	}
}

func TestMachineFacts(t *testing.T) {
	m := readMachine()
	if m.CPUs < 1 || m.Kernel == "" {
		t.Errorf("facts %+v", m)
	}
	for name, v := range map[string]string{"rsync": m.Rsync, "unison": m.Unison, "OpenSSH": m.OpenSSH} {
		if strings.HasPrefix(v, "unavailable") || v == "unknown" {
			t.Errorf("%s version: %q", name, v)
		}
	}
	if got := version("sh", "-c", "echo 'tool 1.2'; echo more; exit 3"); got != "tool 1.2" {
		t.Errorf("version of a tool that exits with a failure = %q", got)
	}
}

func TestCLIGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tree")
	var out, errOut bytes.Buffer
	if code := cliMain([]string{"-quick", "-generate", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut.String())
	}
	l, err := listTree(dir, timesNone)
	if err != nil {
		t.Fatal(err)
	}
	st := quickConfig().Dev
	if len(l) < st.Small+st.Medium+st.Large {
		t.Errorf("%d entries in the generated tree", len(l))
	}
	if !strings.Contains(out.String(), "files") {
		t.Errorf("output %q", out.String())
	}
	// The folder must be new: nothing is generated over another tree.
	if code := cliMain([]string{"-quick", "-generate", dir}, &out, &errOut); code != 1 {
		t.Errorf("second run: exit code %d, want 1", code)
	}
}

// TestHostNet builds a two-host network, reaches each host's address from
// this namespace (a refused connection proves the route: nothing listens),
// and checks that Close leaves nothing behind.
func TestHostNet(t *testing.T) {
	hn, err := newHostNet(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hn.Close() })
	for _, h := range hn.hosts {
		if out, err := hn.exec(h, "ip", "-4", "-br", "addr").CombinedOutput(); err != nil || !strings.Contains(string(out), h.addr+"/24") {
			t.Errorf("%s: address %s missing: %v: %s", h.ns, h.addr, err, out)
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h.addr, "9"), 10*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("%s: something listens on port 9", h.ns)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: %s not reached: %v", h.ns, h.addr, err)
		}
	}
	if err := hn.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hn.hosts {
		if strings.Contains(string(out), h.ns+" ") || strings.HasSuffix(strings.TrimSpace(string(out)), h.ns) {
			t.Errorf("namespace %s left behind", h.ns)
		}
	}
	if _, err := net.InterfaceByName(hn.bridge); err == nil {
		t.Errorf("bridge %s left behind", hn.bridge)
	}
	for _, h := range hn.hosts {
		if _, err := net.InterfaceByName(h.outer); err == nil {
			t.Errorf("veth %s left behind", h.outer)
		}
	}
	// The next fleet of this process has the same names: it is built at
	// once (the full run builds 8 hosts, then 32).
	again, err := newHostNet(t.Context(), 2)
	if err != nil {
		t.Fatalf("a second network right after the first: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStandTable(t *testing.T) {
	var res results
	res.stand("noop-10k", "local", "met (1 ms)")
	res.stand("fanout", "fleet", "8 hosts, edit on the hub: met (9 ms)")
	res.stand("fanout", "fleet", "8 hosts, edit on the spoke: **missed** (40 ms)")
	var b strings.Builder
	res.standTable(&b)
	md := b.String()
	for _, want := range []string{
		"| target | local folders | over SSH | fleet |",
		"| running engine's no-op ≤ 5 ms, 10k files | met (1 ms) | not measured | — |",
		"| — | — | 8 hosts, edit on the hub: met (9 ms); 8 hosts, edit on the spoke: **missed** (40 ms) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if got := strings.Count(md, "\n| "); got != len(goals)+1 {
		t.Errorf("%d rows, want %d goals and the heading", got, len(goals)+1)
	}
}

// The floor's plain copy makes B the same tree as A (modes and symlinks
// included), refuses a B that already holds a file of A, and stops at a
// cancelled context.
func TestCopyFloor(t *testing.T) {
	spec := smallTree
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if _, err := generate(a, spec, 3); err != nil {
		t.Fatal(err)
	}
	// A folder and a file with bits a usual umask takes.
	open := filepath.Join(a, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(open, "shared"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{open, filepath.Join(open, "shared")} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for _, workers := range []int{1, 3} {
		b := filepath.Join(dir, fmt.Sprintf("b%d", workers))
		if err := os.Mkdir(b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyFloor(context.Background(), a, b, workers); err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		want, err := listTree(a, timesNone)
		if err != nil {
			t.Fatal(err)
		}
		got, err := listTree(b, timesNone)
		if err != nil {
			t.Fatal(err)
		}
		if d := want.diff(got); d != "" {
			t.Errorf("%d workers: the copy differs: %s", workers, d)
		}
		if err := copyFloor(context.Background(), a, b, workers); err == nil {
			t.Errorf("%d workers: a copy over a full folder succeeded", workers)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := filepath.Join(dir, "cancelled")
	if err := os.Mkdir(b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFloor(ctx, a, b, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled copy returned %v", err)
	}
	// A named pipe is refused, not opened (which would wait for a writer).
	odd, oddCopy := filepath.Join(dir, "odd"), filepath.Join(dir, "odd-copy")
	for _, d := range []string{odd, oddCopy} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(odd, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyFloor(context.Background(), odd, oddCopy, 2); err == nil || !strings.Contains(err.Error(), "pipe is not a regular file") {
		t.Errorf("copying a named pipe returned %v", err)
	}
}
