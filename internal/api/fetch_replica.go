package api

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Fetches that claim a replica id (followers replicating, KIP-903's
// ReplicaState from v15) are served from the log end rather than the high
// watermark and move the leader's view of the follower, so they are
// accepted only from a broker: the id must be registered, the fetch must
// name its current broker epoch (an older one is a stopped incarnation:
// STALE_BROKER_EPOCH), and the connection must come from an address the
// broker's endpoints resolve to. Anything else gets
// TOPIC_AUTHORIZATION_FAILED on every partition, as Kafka answers a
// follower fetch that lacks the CLUSTER_ACTION permission.

// replicaOf returns the replica id and broker epoch a fetch claims; id -1
// for a consumer. Before v15 there is no epoch to check (-1).
func replicaOf(req *kmsg.FetchRequest, version int16) (int32, int64) {
	if version >= 15 {
		return req.ReplicaState.ID, req.ReplicaState.Epoch
	}
	return req.ReplicaID, -1
}

// checkReplica decides whether a fetch claiming replica id with broker
// epoch comes from that broker: 0 when it does, else the error to answer
// with and whether it applies to the whole response (true) or to each
// partition.
func (h *Handler) checkReplica(c *call, img *metadata.Image, id int32, epoch int64) (*kerr.Error, bool) {
	b, ok := img.Broker(id)
	if !ok || epoch < 0 {
		return kerr.TopicAuthorizationFailed, false
	}
	if epoch < b.Epoch {
		return kerr.StaleBrokerEpoch, true
	}
	if !h.fromBrokerHost(c, b) {
		h.log.Warn("refused a replica fetch from an address the broker does not use",
			"replica_id", id, "remote", c.Conn.Remote)
		return kerr.TopicAuthorizationFailed, false
	}
	return nil, false
}

// fromBrokerHost reports whether the connection's remote address is one of
// the addresses b's endpoints name.
func (h *Handler) fromBrokerHost(c *call, b *metadata.Broker) bool {
	ta, ok := c.Conn.Remote.(*net.TCPAddr)
	if !ok {
		return false
	}
	for _, e := range b.Endpoints {
		for _, ip := range h.hosts.lookup(e.Host) {
			if ip.Equal(ta.IP) {
				return true
			}
		}
	}
	return false
}

// hostCache resolves endpoint host names, remembering answers for a while
// so a follower's fetches do not each cost a lookup.
type hostCache struct {
	mu      sync.Mutex
	entries map[string]hostEntry
}

type hostEntry struct {
	ips     []net.IP
	expires time.Time
}

const hostCacheTTL = time.Minute

func (hc *hostCache) lookup(host string) []net.IP {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}
	}
	hc.mu.Lock()
	e, ok := hc.entries[host]
	hc.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.ips
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	if err != nil && ok {
		ips = e.ips // keep the last good answer through a resolver hiccup
	}
	hc.mu.Lock()
	if hc.entries == nil {
		hc.entries = map[string]hostEntry{}
	}
	hc.entries[host] = hostEntry{ips: ips, expires: time.Now().Add(hostCacheTTL)}
	hc.mu.Unlock()
	return ips
}
