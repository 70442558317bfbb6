package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// netnsPrefix starts the name of every network namespace and interface the
// harness creates, followed by the id of the harness's process: a later run
// finds what a killed run left behind by that prefix and removes it when
// that process is gone.
const netnsPrefix = "zsb"

// hostNet is a set of network namespaces, one per host of the fleet, each
// joined by a veth pair to a bridge in this process's namespace. The bridge
// has a private address and no other link: nothing leaves the machine.
// Build it with [newHostNet]; [hostNet.Close] removes it all.
type hostNet struct {
	bridge string
	subnet string // "10.213.N."
	hosts  []netHost

	closeOnce sync.Once
	closeErr  error
}

// netHost is one namespace and its address.
type netHost struct {
	ns   string // namespace name
	addr string // IPv4 address inside the namespace
	// outer is the end of its veth pair on the bridge, once made.
	outer string
}

// hubAddr is the bridge's address, where the hub is reached.
func (n *hostNet) hubAddr() string { return n.subnet + "1" }

// newHostNet creates n namespaces (at most 250) on a new bridge. It needs
// root (CAP_NET_ADMIN) and the ip command; on any failure it removes what
// it made.
func newHostNet(ctx context.Context, n int) (hn *hostNet, err error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("fleet: %d hosts, want 1 to 250", n)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.New("fleet: the ip command is missing: install the iproute2 package")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("fleet: network namespaces need root: run as root, or leave the fleet out with -modes local,ssh")
	}
	removeStaleNets(ctx)
	id := strconv.Itoa(os.Getpid())
	subnet, err := freeSubnet()
	if err != nil {
		return nil, err
	}
	hn = &hostNet{bridge: netnsPrefix + id, subnet: subnet}
	defer func() {
		if err != nil {
			hn.Close()
			hn = nil
		}
	}()
	if err := ipCmd(ctx, "link", "add", hn.bridge, "type", "bridge"); err != nil {
		return hn, err
	}
	if err := ipCmd(ctx, "addr", "add", hn.hubAddr()+"/24", "dev", hn.bridge); err != nil {
		return hn, err
	}
	if err := ipCmd(ctx, "link", "set", hn.bridge, "up"); err != nil {
		return hn, err
	}
	for i := range n {
		h := netHost{ns: fmt.Sprintf("%s%s-%d", netnsPrefix, id, i+1), addr: subnet + strconv.Itoa(i+2)}
		outer, inner := fmt.Sprintf("%s%sh%d", netnsPrefix, id, i+1), fmt.Sprintf("%s%sp%d", netnsPrefix, id, i+1)
		if err := ipCmd(ctx, "netns", "add", h.ns); err != nil {
			return hn, err
		}
		hn.hosts = append(hn.hosts, h)
		if err := ipCmd(ctx, "link", "add", outer, "type", "veth", "peer", "name", inner); err != nil {
			return hn, err
		}
		hn.hosts[len(hn.hosts)-1].outer = outer
		for _, args := range [][]string{
			{"link", "set", inner, "netns", h.ns},
			{"link", "set", outer, "master", hn.bridge, "up"},
			{"-n", h.ns, "addr", "add", h.addr + "/24", "dev", inner},
			{"-n", h.ns, "link", "set", inner, "up"},
			{"-n", h.ns, "link", "set", "lo", "up"},
		} {
			if err := ipCmd(ctx, args...); err != nil {
				return hn, err
			}
		}
	}
	return hn, nil
}

// Close deletes the veth pairs, the namespaces and the bridge. Later calls
// return the first one's result. A pair is deleted by name, which takes
// both ends at once: deleting its namespace would also remove it, but only
// later, from the kernel's cleanup of the namespace, and the next fleet of
// this process, whose names are the same, found the old ends still there.
func (n *hostNet) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		for _, h := range n.hosts {
			// Not the caller's context: this runs on the way out of a
			// cancelled run too.
			if h.outer != "" {
				errs = append(errs, ipCmd(context.Background(), "link", "delete", h.outer))
			}
			errs = append(errs, ipCmd(context.Background(), "netns", "delete", h.ns))
		}
		if n.bridge != "" {
			errs = append(errs, ipCmd(context.Background(), "link", "delete", n.bridge))
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// exec returns a command that runs name with args inside host h's
// namespace.
func (n *hostNet) exec(h netHost, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.ns, name}, args...)...)
}

func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, tail(out, 500))
	}
	return nil
}

// freeSubnet picks a /24 in 10.213.0.0/16 that no interface of this
// namespace uses (another run of the harness may hold one), starting from
// one derived from the process id.
func freeSubnet() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if v4 := ipn.IP.To4(); v4 != nil {
				used[fmt.Sprintf("%d.%d.%d.", v4[0], v4[1], v4[2])] = true
			}
		}
	}
	start := os.Getpid() % 256
	for i := range 256 {
		s := fmt.Sprintf("10.213.%d.", (start+i)%256)
		if !used[s] {
			return s, nil
		}
	}
	return "", errors.New("fleet: no free /24 left in 10.213.0.0/16")
}

// removeStaleNets removes the namespaces and bridges of earlier runs whose
// process is gone (a run killed with SIGKILL cannot clean up after itself).
func removeStaleNets(ctx context.Context) {
	gone := func(name string) bool {
		rest, ok := strings.CutPrefix(name, netnsPrefix)
		if !ok {
			return false
		}
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end < 0 {
			end = len(rest)
		}
		pid, err := strconv.Atoi(rest[:end])
		if err != nil || pid == os.Getpid() {
			return false
		}
		_, err = os.Stat("/proc/" + strconv.Itoa(pid))
		return errors.Is(err, os.ErrNotExist)
	}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 0 && gone(f[0]) {
				// The servers that run killed left behind in it.
				if pids, err := exec.CommandContext(ctx, "ip", "netns", "pids", f[0]).Output(); err == nil {
					for _, p := range strings.Fields(string(pids)) {
						if pid, err := strconv.Atoi(p); err == nil {
							_ = syscall.Kill(pid, syscall.SIGKILL)
						}
					}
				}
				_ = ipCmd(ctx, "netns", "delete", f[0])
			}
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return
	}
	for _, i := range ifs {
		if gone(i.Name) {
			_ = ipCmd(ctx, "link", "delete", i.Name)
		}
	}
}
