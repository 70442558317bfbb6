package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"
)

// machineFacts describes the machine a run measured.
type machineFacts struct {
	CPUs      int
	CPUModel  string
	MemTotal  string
	Kernel    string
	Go        string
	Build     string // how this program (the engine and the agent measured) was linked
	Rsync     string
	Unison    string
	OpenSSH   string
	Inotify   string
	LoadStart string // /proc/loadavg when the run began
	LoadEnd   string
}

func readMachine() machineFacts {
	m := machineFacts{
		CPUs:      runtime.NumCPU(),
		CPUModel:  procField("/proc/cpuinfo", "model name"),
		MemTotal:  procField("/proc/meminfo", "MemTotal"),
		Go:        runtime.Version(),
		Build:     buildLinking(),
		Rsync:     version("rsync", "--version"),
		Unison:    version("unison", "-version"),
		OpenSSH:   version("ssh", "-V"),
		Inotify:   version("inotifywait", "--help"),
		LoadStart: loadavg(),
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	return m
}

func (m machineFacts) markdown(w io.Writer) {
	fmt.Fprintf(w, "| machine | |\n|---|---|\n")
	fmt.Fprintf(w, "| CPUs (nproc) | %d × %s |\n", m.CPUs, m.CPUModel)
	fmt.Fprintf(w, "| memory | %s |\n", m.MemTotal)
	fmt.Fprintf(w, "| kernel | %s |\n", m.Kernel)
	fmt.Fprintf(w, "| Go | %s |\n", m.Go)
	fmt.Fprintf(w, "| zerosync's build | %s |\n", m.Build)
	fmt.Fprintf(w, "| rsync | %s |\n", m.Rsync)
	fmt.Fprintf(w, "| unison | %s |\n", m.Unison)
	fmt.Fprintf(w, "| OpenSSH | %s |\n", m.OpenSSH)
	fmt.Fprintf(w, "| inotify-tools | %s |\n", m.Inotify)
	fmt.Fprintf(w, "| load average (1, 5, 15 min) at start / end | %s / %s |\n", m.LoadStart, m.LoadEnd)
}

// buildLinking says how this program was linked: the engine and the
// agent the bench measures are this program, and a build with cgo carries
// the C library (1.4 MiB more resident, and an agent that needs this
// machine's C library), which the README's install does not.
func buildLinking() string {
	if cgoBuild() {
		return "CGO_ENABLED=1: linked against the C library, unlike the README's install (CGO_ENABLED=0)"
	}
	return "CGO_ENABLED=0: static, as the README installs it"
}

// cgoBuild reports whether this program was built with cgo.
func cgoBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			return s.Value == "1"
		}
	}
	return false
}

// procField returns the value of the first "name: value" line of a /proc
// file.
func procField(file, name string) string {
	f, err := os.Open(file)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// rssKiB returns a process's resident set (VmRSS) and its peak (VmHWM) in
// KiB, from /proc/<pid>/status.
func rssKiB(pid int) (rss, hwm int64, err error) {
	v, err := procStatus(pid)
	if err != nil {
		return 0, 0, err
	}
	if v["VmRSS"] == 0 {
		return 0, 0, fmt.Errorf("no VmRSS for process %d", pid)
	}
	return v["VmRSS"], v["VmHWM"], nil
}

// rssParts says what a process's resident set is made of: anonymous
// memory (its heap, stacks and runtime), pages of files it maps (its
// executable, the state database, the spilled trees) and shared memory.
func rssParts(pid int) string {
	v, err := procStatus(pid)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("anonymous %s, files %s, shared %s",
		fmtBytes(float64(v["RssAnon"])*1024), fmtBytes(float64(v["RssFile"])*1024), fmtBytes(float64(v["RssShmem"])*1024))
}

// procStatus returns the fields of /proc/<pid>/status counted in kB, in
// KiB.
func procStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	v := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, f, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		var n int64
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d kB", &n); err == nil {
			v[k] = n
		}
	}
	return v, nil
}
