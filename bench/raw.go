package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// raw measures the SSH limit: a large file piped through
// ssh host 'cat > /dev/null', for a few ciphers, through the counting proxy
// (the path every tool takes) and straight to sshd. It returns the fastest
// rate through the proxy, the reference of the initial sync's throughput
// target.
func (r *runner) raw(ctx context.Context, m *mode) (float64, error) {
	dir := filepath.Join(m.dir, "raw")
	st, err := generate(dir, treeSpec{Large: 1, LargeSize: r.cfg.BigSize}, r.cfg.Seed+1)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, filepath.FromSlash(st.Large[0]))
	variants := []struct {
		name, cipher string
		proxy        bool
	}{
		{"default cipher, through the proxy", "", true},
		{"aes128-gcm@openssh.com, through the proxy", "aes128-gcm@openssh.com", true},
		{"chacha20-poly1305@openssh.com, through the proxy", "chacha20-poly1305@openssh.com", true},
		{"default cipher, straight to sshd", "", false},
	}
	if r.cfg.Quick {
		variants = []struct {
			name, cipher string
			proxy        bool
		}{variants[0], variants[3]}
	}
	rw := row{Workload: fmt.Sprintf("raw limit: `ssh host 'cat > /dev/null'` of a %s file", fmtBytes(float64(r.cfg.BigSize))), ZS: absent("—"), Target: "—"}
	fastest := 0.0
	for _, v := range variants {
		var secs []float64
		for i := range r.cfg.Warmup + r.cfg.Runs {
			d, err := r.sshCat(ctx, m, file, v.cipher, v.proxy)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", v.name, err)
			}
			if i >= r.cfg.Warmup {
				secs = append(secs, d.Seconds())
			}
		}
		rate := float64(r.cfg.BigSize) / median(secs)
		r.logf("%s: raw ssh, %s: %s", m.name, v.name, fmtValue(rate, unitRate))
		rw.Peers = append(rw.Peers, peerFigure{"ssh, " + v.name, single(rate, unitRate)})
		if v.proxy {
			fastest = max(fastest, rate)
		}
	}
	rw.Verdict = "fastest through the proxy: " + fmtValue(fastest, unitRate)
	m.sec.Rows = append(m.sec.Rows, rw)
	return fastest, nil
}

// sshCat times one ssh 'cat > /dev/null' of file.
func (r *runner) sshCat(ctx context.Context, m *mode, file, cipher string, viaProxy bool) (time.Duration, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "ssh", m.ssh.sshArgs(viaProxy, cipher, "cat > /dev/null")...)
	cmd.Stdin = f
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%w: %s", err, tail(out, 500))
	}
	return d, nil
}
