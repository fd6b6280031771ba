package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Network namespaces for the partition scenario. Each node runs in a
// namespace of its own with one veth whose other end sits on a bridge in
// the harness' namespace; the bridge holds 10.213.K.254/24 (K random per
// run) and node slot i gets 10.213.K.i, so the harness reaches every node
// while the nodes reach each other through the bridge. A partition adds
// blackhole routes inside each node's namespace for the addresses of the
// other side, so both sides keep serving the harness' clients but cannot
// reach each other, over UDP and TCP alike; healing deletes them. Every
// name carries the run's prefix (rcXXXX), and Close deletes exactly the
// namespaces and links this run created.

// Netns is one run's namespaces. It is safe for concurrent use.
type Netns struct {
	prefix string
	subnet string // "10.213.K"
	bridge string
	// mu guards slots, next and blocked.
	mu      sync.Mutex
	slots   map[string]int // node name -> slot
	next    int
	blocked [][2]string // (node, ip) blackhole routes in place
}

// NetnsAvailable reports whether this process may create network
// namespaces (root, iproute2 present, `ip netns add` works); the error
// says why not.
func NetnsAvailable() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("chaos: netns: no ip command (iproute2): %w", err)
	}
	if os.Geteuid() != 0 {
		return errors.New("chaos: netns: not root")
	}
	name := fmt.Sprintf("rcprobe%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("chaos: netns: ip netns add: %v: %s", err, strings.TrimSpace(string(out)))
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
	return nil
}

// NewNetns creates the run's bridge.
func NewNetns(seed uint64) (*Netns, error) {
	r := rand.New(rand.NewPCG(seed, uint64(os.Getpid())))
	n := &Netns{prefix: fmt.Sprintf("rc%04x", r.IntN(1<<16)), subnet: fmt.Sprintf("10.213.%d", 1+r.IntN(250)),
		slots: map[string]int{}}
	n.bridge = n.prefix + "br"
	if err := ipRun("link", "add", n.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := errors.Join(ipRun("addr", "add", n.subnet+".254/24", "dev", n.bridge), ipRun("link", "set", n.bridge, "up")); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func ipRun(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chaos: netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Describe names the mechanism for the summary.
func (n *Netns) Describe() string {
	return fmt.Sprintf("network namespaces %s-* on bridge %s (%s.0/24), blackhole routes", n.prefix, n.bridge, n.subnet)
}

func (n *Netns) ns(slot int) string { return fmt.Sprintf("%s-n%d", n.prefix, slot) }

// Node returns the namespace and IP of node name, creating its namespace
// and veth the first time.
func (n *Netns) Node(name string) (ns, ip string, err error) {
	n.mu.Lock()
	slot, ok := n.slots[name]
	if !ok {
		n.next++
		slot = n.next
		n.slots[name] = slot
	}
	n.mu.Unlock()
	ns, ip = n.ns(slot), fmt.Sprintf("%s.%d", n.subnet, slot)
	if ok {
		return ns, ip, nil
	}
	host, peer := fmt.Sprintf("%sh%d", n.prefix, slot), fmt.Sprintf("%sp%d", n.prefix, slot)
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", ns},
		{"link", "set", host, "master", n.bridge},
		{"link", "set", host, "up"},
		{"-n", ns, "addr", "add", ip + "/24", "dev", peer},
		{"-n", ns, "link", "set", peer, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ipRun(s...); err != nil {
			return "", "", err
		}
	}
	return ns, ip, nil
}

// IP returns node name's address.
func (n *Netns) IP(name string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return fmt.Sprintf("%s.%d", n.subnet, n.slots[name])
}

// Cut makes every node of a unable to reach every node of b and back.
func (n *Netns) Cut(a, b []string) error {
	var errs []error
	add := func(from, to string) {
		n.mu.Lock()
		slot, ip := n.slots[from], fmt.Sprintf("%s.%d", n.subnet, n.slots[to])
		n.mu.Unlock()
		if err := ipRun("-n", n.ns(slot), "route", "add", "blackhole", ip+"/32"); err != nil {
			errs = append(errs, err)
			return
		}
		n.mu.Lock()
		n.blocked = append(n.blocked, [2]string{n.ns(slot), ip})
		n.mu.Unlock()
	}
	for _, x := range a {
		for _, y := range b {
			add(x, y)
			add(y, x)
		}
	}
	return errors.Join(errs...)
}

// Heal deletes every blackhole route Cut added.
func (n *Netns) Heal() error {
	n.mu.Lock()
	routes := n.blocked
	n.blocked = nil
	n.mu.Unlock()
	var errs []error
	for _, r := range routes {
		errs = append(errs, ipRun("-n", r[0], "route", "del", "blackhole", r[1]+"/32"))
	}
	return errors.Join(errs...)
}

// Close deletes the namespaces (which takes their veths along) and the
// bridge this run created. Call it after every agent in them has exited.
func (n *Netns) Close() error {
	n.mu.Lock()
	var slots []int
	for _, s := range n.slots {
		slots = append(slots, s)
	}
	n.mu.Unlock()
	var errs []error
	for _, s := range slots {
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("%sh%d", n.prefix, s)).Run()
		errs = append(errs, ipRun("netns", "del", n.ns(s)))
	}
	errs = append(errs, ipRun("link", "del", n.bridge))
	return errors.Join(errs...)
}
