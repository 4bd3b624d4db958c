// Package api answers Kafka requests: one file per API (00_produce.go,
// 01_fetch.go, …, named by API key), each opening with the versions it
// handles and where it differs from Kafka, and one table (table.go) from
// which both dispatch and the ApiVersions response are built, so adding an
// API touches one place.
//
// Handler implements wire.Handler. For each request it looks the (key,
// version) pair up in the table, decodes the body with franz-go's kmsg, and
// runs the API's function, which returns a wire.Reply: a response now, a
// Wait that produces it later (a produce waiting for acks, a fetch waiting
// for data), or nothing (acks=0). Responses are encoded with kmsg, except
// Fetch, whose record bytes go out straight from segment files
// (fetch_encode.go).
//
// Errors: protocol outcomes are error codes in responses; a Go error from an
// API function means "close the connection" (undecodable body, a request no
// client may send).
//
// The package knows nothing of sockets (that is package server) and holds
// no state of its own beyond the fetch session cache; partitions, metadata,
// the controller and the coordinators it reaches through Config.
package api

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/auth"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/controller"
	"github.com/samsa-io/samsa/internal/group"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/metrics"
	"github.com/samsa-io/samsa/internal/partition"
	"github.com/samsa-io/samsa/internal/storage"
	"github.com/samsa-io/samsa/internal/txn"
	"github.com/samsa-io/samsa/internal/wire"
)

// Config holds what the handlers need. All fields are required.
type Config struct {
	NodeID      int32
	Broker      *config.Broker     // static configuration
	Metadata    *metadata.Loader   // the current metadata image
	Controller  *controller.Client // admin operations, routed to the active controller
	Partitions  *partition.Manager // the replicas on this broker
	ProducerIDs *txn.IDAllocator   // producer ids for InitProducerId
	Dirs        []*storage.Dir     // the log directories, for DescribeLogDirs
	Groups      *group.Coordinator // the consumer group coordinator
	Quotas      *auth.Quotas       // client quotas; nil enforces none
	Counters    *Counters          // what the handlers count for the broker's metrics; nil counts nothing
	Requests    *metrics.Requests  // this listener's request metrics, for the error codes of responses; nil counts none
	TLS         TLSListeners       // run-time TLS changes of this broker's SSL listeners; nil: none
	Logger      *slog.Logger
	// LogLevel is the level of Logger's handler, which IncrementalAlterConfigs
	// on the BROKER_LOGGER resource changes; nil when it cannot change.
	LogLevel *slog.LevelVar
	// ControllerID returns the active controller's node id, -1 if unknown.
	ControllerID func() int32

	// For a handler of the controller listener (ControllerListener set):
	// this node's controller and whether it is the active one. The other
	// fields are unused there.
	ControllerListener bool
	LocalController    *controller.Controller
	ControllerActive   func() bool
}

// Counters are the broker's counts of the data its handlers move.
type Counters struct {
	ProducedBytes   *metrics.Counter // record batch bytes appended by produce requests (Kafka: BytesInPerSec)
	ProducedRecords *metrics.Counter // records they held (MessagesInPerSec)
	FetchedBytes    *metrics.Counter // record bytes in consumers' fetch responses (BytesOutPerSec)
	ReplicatedBytes *metrics.Counter // record bytes in followers' fetch responses (ReplicationBytesOutPerSec)
	// Topic returns a topic's counters, the same each time for one name.
	Topic func(name string) *TopicCounters
}

// TopicCounters are one topic's counts: Kafka's BrokerTopicMetrics with a
// topic tag. Fetched bytes are consumers' only, as in Kafka. Produce
// requests count one per partition of a request that this broker tried to
// append to, and failures those of them countsAsFailedProduce names.
type TopicCounters struct {
	ProducedBytes, ProducedRecords, FetchedBytes metrics.Counter
	ProduceRequests, FailedProduceRequests       metrics.Counter
}

// TLSListeners checks and applies changes of this broker's SSL listeners'
// settings: dynamic is the broker's dynamic configs as they would be, whose
// listener.name.<listener>.ssl.* values win over server.properties.
// ReloadTLS sets the listeners up again from the committed settings once
// this node's metadata shows a change (shown), re-reading their files.
type TLSListeners interface {
	CheckTLS(dynamic map[string]string) error
	ReloadTLS(ctx context.Context, shown func(dynamic map[string]string) bool)
}

// Handler serves Kafka requests. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	apis     [maxKey + 1]*apiDef // indexed by api key; nil = not served
	versions *kmsg.ApiVersionsResponse
	sessions *fetchSessions
	hosts    hostCache // broker endpoint addresses, for replica fetches

	offsetsTopicWarned atomic.Int64 // unix ms of the last "cannot create the offsets topic" warning
}

// New builds a handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger}
	table := h.table()
	if cfg.ControllerListener {
		table = h.controllerTable()
	}
	for _, d := range table {
		h.apis[d.key] = d
	}
	h.versions = h.apiVersionsResponse()
	h.sessions = newFetchSessions(int(cfg.Broker.Network.MaxIncrementalFetchSessionCacheSlots))
	return h
}

// call is one request being handled.
type call struct {
	*wire.Request
	msg      kmsg.Request      // the decoded body
	requests *metrics.Requests // Config.Requests
}

// RequestHeaderVersion implements wire.Handler.
func (h *Handler) RequestHeaderVersion(key, version int16) (int, bool) {
	if key < 0 || int(key) >= len(h.apis) || h.apis[key] == nil {
		return 0, false
	}
	d := h.apis[key]
	if version < d.min || version > d.max {
		if key == apiVersionsKey && version > d.max {
			// Kafka answers a too-new ApiVersions with its own ranges so the
			// client can downgrade; the header of a future version is
			// assumed to be the flexible one.
			return 2, true
		}
		return 0, false
	}
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	if req.IsFlexible() {
		return 2, true
	}
	return 1, true
}

// Handle implements wire.Handler.
func (h *Handler) Handle(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	d := h.apis[r.Key]
	if r.Key == apiVersionsKey && r.Version > d.max {
		return h.unsupportedApiVersions(r), nil
	}
	req := kmsg.RequestForKey(r.Key)
	req.SetVersion(r.Version)
	if err := decode(req, r.Body); err != nil {
		return wire.Reply{}, fmt.Errorf("decode %s v%d: %w", kmsg.NameForKey(r.Key), r.Version, err)
	}
	return d.fn(ctx, &call{Request: r, msg: req, requests: h.cfg.Requests})
}

// respond encodes resp as the response to c.
func (c *call) respond(resp kmsg.Response) wire.Reply {
	return wire.Reply{Resp: c.encode(resp)}
}

// encode counts resp's error codes and encodes it as the response to c.
func (c *call) encode(resp kmsg.Response) *wire.Response {
	if c.requests != nil {
		countErrors(c.requests, c.Key, resp)
	}
	return encodeResponse(c.Request, resp)
}

// throttle counts n bytes of kind against the client's quota and returns
// how long to throttle it (zero without quotas or when within them).
func (h *Handler) throttle(c *call, kind auth.QuotaKind, n int64) time.Duration {
	if h.cfg.Quotas == nil {
		return 0
	}
	return h.cfg.Quotas.Record(kind, c.Conn.Principal, c.ClientID, n, time.Now())
}

// later defers the response to the connection's writer: fn runs in request
// order and must return promptly once ctx is done.
func (c *call) later(fn func(ctx context.Context) kmsg.Response) wire.Reply {
	return wire.Reply{Wait: func(ctx context.Context) *wire.Response {
		return c.encode(fn(ctx))
	}}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// encodeResponse frames resp for req: correlation id, the response header's
// tagged fields for flexible versions (ApiVersions always uses header v0, so
// old clients can read it), then the body.
func encodeResponse(req *wire.Request, resp kmsg.Response) *wire.Response {
	resp.SetVersion(req.Version)
	bp := bufPool.Get().(*[]byte)
	b := binary.BigEndian.AppendUint32((*bp)[:0], uint32(req.CorrelationID))
	if resp.IsFlexible() && req.Key != apiVersionsKey {
		b = append(b, 0)
	}
	b = resp.AppendTo(b)
	*bp = b
	return &wire.Response{
		Chunks: []wire.Chunk{{Bytes: b}},
		Release: func() {
			if cap(*bp) <= 1<<20 { // do not pin huge buffers
				bufPool.Put(bp)
			}
		},
	}
}
