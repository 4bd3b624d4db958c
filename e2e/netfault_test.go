package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Link cuts between loopback addresses, made with nftables.
//
// Each cut pair of addresses is an element of a set in a table of the
// test's own (inet family, named samsa_e2e_<pid>_<n>); one rule drops, at
// the input hook, every packet whose source and destination addresses form
// a cut pair. Dropping on input rather than output makes a cut look like a
// silent network to both ends: a SYN goes unanswered, an established
// connection stalls until someone's timeout, and nobody gets the quick
// "operation not permitted" a locally refused packet would give. The rule
// counts what it drops, so a test can tell that its cut cut something.
//
// This relies on every node sending from its own address: samsa binds its
// outgoing connections to its first listener's IP, and the harness's
// clients dial from an address of their own (see Cluster).
//
// The table is deleted when the test ends; nothing else of the machine's
// rule set is touched, and other tests' tables do not interfere (a packet
// passes only if every table's input chain accepts it).
//
// Tests cut links through a Cluster started withLinkCuts: Cut, Isolate,
// IsolateFromAll and Heal, at the end of this file.

// nftTables numbers the tables of this process.
var nftTables atomic.Int64

// linkCuts is one test's nftables table. It belongs to the test goroutine.
type linkCuts struct {
	t     testing.TB
	nft   string             // path of the nft binary
	table string             // table name in the inet family
	cut   map[[2]string]bool // the pairs cut now, lower address first
}

// newLinkCuts creates the test's table with nothing cut. Without nft, or
// without the privilege to use it (root or CAP_NET_ADMIN), the test is
// skipped, or fails when SAMSA_E2E=1.
func newLinkCuts(t testing.TB) *linkCuts {
	t.Helper()
	nft, err := exec.LookPath("nft")
	if err != nil {
		nft = "/usr/sbin/nft" // root's PATH has it, a user's may not
		if _, err := os.Stat(nft); err != nil {
			missingClient(t, "nft (to cut links between nodes)", "nftables")
		}
	}
	l := &linkCuts{
		t:     t,
		nft:   nft,
		table: fmt.Sprintf("samsa_e2e_%d_%d", os.Getpid(), nftTables.Add(1)),
		cut:   map[[2]string]bool{},
	}
	l.deleteOrphans()
	err = l.run(fmt.Sprintf(`table inet %s {
	set cuts { type ipv4_addr . ipv4_addr; }
	chain input {
		type filter hook input priority -10; policy accept;
		ip saddr . ip daddr @cuts counter drop
	}
}
`, l.table))
	if err != nil {
		cannotRun(t, fmt.Sprintf("nftables cannot filter loopback traffic here (link cuts need root or CAP_NET_ADMIN): %v", err))
	}
	t.Cleanup(func() {
		if err := l.run("delete table inet " + l.table + "\n"); err != nil {
			t.Errorf("delete the nftables table %s: %v", l.table, err)
		}
	})
	return l
}

var nftTableName = regexp.MustCompile(`(?m)^table inet (samsa_e2e_(\d+)_\d+)$`)

// deleteOrphans deletes the tables of test processes that died without
// cleaning up (killed by a timeout, say): their cuts could otherwise
// silence a later test that happens on the same addresses.
func (l *linkCuts) deleteOrphans() {
	out, err := exec.Command(l.nft, "list", "tables").Output()
	if err != nil {
		return // newLinkCuts finds out what is wrong
	}
	for _, m := range nftTableName.FindAllStringSubmatch(string(out), -1) {
		pid, _ := strconv.Atoi(m[2])
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			l.run("delete table inet " + m[1] + "\n") // another test may be at it too
		}
	}
}

// run feeds an nft script to nft -f.
func (l *linkCuts) run(script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.nft, "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f: %w: %s(script: %s)", err, out, script)
	}
	return nil
}

// Cut drops the packets between addresses a and b, both ways.
func (l *linkCuts) Cut(a, b string) {
	l.t.Helper()
	pair := [2]string{min(a, b), max(a, b)}
	if a == b || l.cut[pair] {
		return
	}
	if err := l.run(fmt.Sprintf("add element inet %s cuts { %s . %s, %s . %s }\n", l.table, a, b, b, a)); err != nil {
		l.t.Fatalf("cut %s from %s: %v", a, b, err)
	}
	l.cut[pair] = true
}

// Heal removes every cut.
func (l *linkCuts) Heal() {
	l.t.Helper()
	if err := l.run("flush set inet " + l.table + " cuts\n"); err != nil {
		l.t.Fatalf("heal: %v", err)
	}
	clear(l.cut)
}

var nftCounter = regexp.MustCompile(`counter packets (\d+)`)

// Dropped returns how many packets the cuts have dropped since the table
// was made.
func (l *linkCuts) Dropped() int64 {
	l.t.Helper()
	out, err := exec.Command(l.nft, "list", "chain", "inet", l.table, "input").CombinedOutput()
	if err != nil {
		l.t.Fatalf("nft list chain: %v: %s", err, out)
	}
	m := nftCounter.FindSubmatch(out)
	if m == nil {
		l.t.Fatalf("no packet counter in the nft listing:\n%s", out)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// Cut drops the traffic between nodes i and j, both ways, until Heal.
func (c *Cluster) Cut(i, j int32) {
	c.t.Helper()
	c.linkCuts().Cut(c.Node(i).Host, c.Node(j).Host)
}

// Isolate cuts node i off from every other node; the harness's clients
// still reach it, as clients on the far side of a partition would. A
// client that asks it learns only its stale view of the cluster.
func (c *Cluster) Isolate(i int32) {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.ID != i {
			c.Cut(i, n.ID)
		}
	}
}

// IsolateFromAll cuts node i off from every other node and from the
// harness's clients.
func (c *Cluster) IsolateFromAll(i int32) {
	c.t.Helper()
	c.Isolate(i)
	c.linkCuts().Cut(c.Node(i).Host, c.clientIP)
}

// Heal removes every cut.
func (c *Cluster) Heal() {
	c.t.Helper()
	c.linkCuts().Heal()
}

// Dropped returns how many packets the cuts have dropped.
func (c *Cluster) Dropped() int64 {
	c.t.Helper()
	return c.linkCuts().Dropped()
}

func (c *Cluster) linkCuts() *linkCuts {
	c.t.Helper()
	if c.cuts == nil {
		c.t.Fatal("link cuts need startCluster(..., withLinkCuts())")
	}
	return c.cuts
}
