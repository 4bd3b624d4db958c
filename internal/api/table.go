package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

// apiFunc runs the synchronous part of one request.
type apiFunc func(ctx context.Context, c *call) (wire.Reply, error)

// apiDef is one row of the table: an API key, the versions served and the
// function serving them.
type apiDef struct {
	key      int16
	min, max int16
	fn       apiFunc
}

const (
	apiVersionsKey = 18
	maxKey         = 92 // highest key kmsg knows
)

// table lists every API this broker serves. Version ranges reach from the
// oldest version that clients still in use send (kafka-python 2.0.2,
// librdkafka 1.x/2.x, Java 2.x) to the newest kmsg knows. Where a range
// starts above 0 the comment says why.
func (h *Handler) table() []*apiDef {
	newest := func(key int16) int16 { return kmsg.RequestForKey(key).MaxVersion() }
	return []*apiDef{
		// Produce v0–v2 carry message format v0/v1, which is converted to
		// v2 on append (record.ConvertLegacy). Advertising v0 also matters
		// to librdkafka, which derives its compression support from it
		// (KAFKA-18659).
		{0, 0, newest(0), h.produce},
		// Fetch v0–v3 would need down-conversion to message format v0/v1;
		// like Kafka 4.0 (KIP-896) samsa starts at v4.
		{1, 4, newest(1), h.fetch},
		{2, 0, newest(2), h.listOffsets},
		{3, 0, newest(3), h.metadata},
		// The group APIs start at v0: librdkafka 2.x enables its balanced
		// consumer only when JoinGroup, SyncGroup, Heartbeat and LeaveGroup
		// v0, OffsetCommit v1-2 and OffsetFetch v1 are advertised, and LZ4
		// only when FindCoordinator v0 is.
		{8, 0, newest(8), h.offsetCommit},
		{9, 0, newest(9), h.offsetFetch},
		{10, 0, newest(10), h.findCoordinator},
		{11, 0, newest(11), h.joinGroup},
		{12, 0, newest(12), h.heartbeat},
		{13, 0, newest(13), h.leaveGroup},
		{14, 0, newest(14), h.syncGroup},
		{15, 0, newest(15), h.describeGroups},
		{16, 0, newest(16), h.listGroups},
		{apiVersionsKey, 0, newest(apiVersionsKey), h.apiVersions},
		{19, 0, newest(19), h.createTopics},
		{20, 0, newest(20), h.deleteTopics},
		{21, 0, newest(21), h.deleteRecords},
		{22, 0, newest(22), h.initProducerID},
		{23, 0, newest(23), h.offsetForLeaderEpoch},
		// No authorizer: SECURITY_DISABLED, as Kafka without one.
		{29, 0, newest(29), h.describeACLs},
		{30, 0, newest(30), h.createACLs},
		{31, 0, newest(31), h.deleteACLs},
		{32, 0, newest(32), h.describeConfigs},
		{33, 0, newest(33), h.alterConfigs},
		{35, 0, newest(35), h.describeLogDirs},
		{37, 0, newest(37), h.createPartitions},
		{42, 0, newest(42), h.deleteGroups},
		{43, 0, newest(43), h.electLeaders},
		{44, 0, newest(44), h.incrementalAlterConfigs},
		{45, 0, newest(45), h.alterPartitionReassignments},
		{46, 0, newest(46), h.listPartitionReassignments},
		{47, 0, newest(47), h.offsetDelete},
		{48, 0, newest(48), h.describeClientQuotas},
		{49, 0, newest(49), h.alterClientQuotas},
		{55, 0, newest(55), h.describeQuorum},
		{60, 0, newest(60), h.describeCluster},
		{61, 0, newest(61), h.describeProducers},
		// No transactions yet, so none to list.
		{66, 0, newest(66), h.listTransactions},
		{75, 0, newest(75), h.describeTopicPartitions},
	}
}

// controllerTable lists the APIs of the controller listener, where brokers
// reach the active controller and where admin clients that bootstrap from
// the controllers (KIP-919) find the voters and the quorum's state
// (controller_listener.go).
func (h *Handler) controllerTable() []*apiDef {
	newest := func(key int16) int16 { return kmsg.RequestForKey(key).MaxVersion() }
	return []*apiDef{
		{apiVersionsKey, 0, newest(apiVersionsKey), h.apiVersions},
		{55, 0, newest(55), h.describeQuorumHere},
		{58, 0, newest(58), h.envelope},
		{60, 1, newest(60), h.describeControllers}, // v0 has no endpoint type
	}
}
