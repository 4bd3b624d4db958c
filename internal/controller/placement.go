package controller

import (
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/metadata"
)

// place assigns replicas for count new partitions numbered from first, with
// replication factor rf, over the live (unfenced) brokers. It follows
// Kafka's scheme: the first replica of successive partitions walks the
// broker list from a random start, and the followers are shifted by an
// amount that grows every full round, so leaders and followers both spread
// evenly. When every broker has a rack, the list alternates racks and a
// partition's replicas land on distinct racks while racks remain. Brokers
// in controlled shutdown get no new replicas.
// Called with mu held (it uses c.rand).
func (c *Controller) place(img *metadata.Image, count, rf, first int) ([][]int32, error) {
	live := slices.DeleteFunc(img.LiveBrokers(), func(b *metadata.Broker) bool { return b.InControlledShutdown })
	if rf > len(live) {
		return nil, kerrf(kerr.InvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, len(live))
	}
	if len(live) == 0 {
		return nil, kerrf(kerr.InvalidReplicationFactor, "No brokers are available.")
	}
	brokers, rack, racks := arrange(live)
	n := len(brokers)
	start := c.rand.IntN(n)
	shift := c.rand.IntN(n)
	out := make([][]int32, count)
	for i := range out {
		p := first + i
		if p > 0 && p%n == 0 {
			shift++
		}
		firstIdx := (p + start) % n
		replicas := []int32{brokers[firstIdx]}
		usedRack := map[string]bool{rack[brokers[firstIdx]]: true}
		used := map[int32]bool{brokers[firstIdx]: true}
		for k := 0; len(replicas) < rf && k < 2*n; k++ {
			b := brokers[followerIndex(firstIdx, shift, k, n)]
			rackOK := racks == 0 || !usedRack[rack[b]] || len(usedRack) == racks
			if used[b] || !rackOK {
				continue
			}
			replicas = append(replicas, b)
			used[b], usedRack[rack[b]] = true, true
		}
		// A rack-aware pass that could not fill every slot (more replicas than
		// the alternation allows) falls back to any unused broker.
		for _, b := range brokers {
			if len(replicas) == rf {
				break
			}
			if !used[b] {
				replicas = append(replicas, b)
				used[b] = true
			}
		}
		out[i] = replicas
	}
	return out, nil
}

// followerIndex is the position of a partition's k-th follower.
func followerIndex(first, shift, k, n int) int {
	if n == 1 {
		return first
	}
	return (first + 1 + (shift+k)%(n-1)) % n
}

// arrange returns broker ids in placement order and, when every broker has
// a rack, each broker's rack and the number of racks (0 otherwise). With
// racks the order alternates them: r1's first broker, r2's first, …, r1's
// second, and so on.
func arrange(live []*metadata.Broker) (order []int32, rack map[int32]string, racks int) {
	rack = map[int32]string{}
	byRack := map[string][]int32{}
	for _, b := range live {
		if b.Rack == "" {
			ids := make([]int32, len(live))
			for i, b := range live {
				ids[i] = b.ID
			}
			return ids, rack, 0
		}
		rack[b.ID] = b.Rack
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
	}
	names := make([]string, 0, len(byRack))
	for r := range byRack {
		names = append(names, r)
	}
	sort.Strings(names)
	for i := 0; len(order) < len(live); i++ {
		for _, r := range names {
			if i < len(byRack[r]) {
				order = append(order, byRack[r][i])
			}
		}
	}
	return order, rack, len(names)
}
