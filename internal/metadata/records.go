package metadata

// RecordType identifies a metadata record's type on disk and on the wire.
// Numbers are never reused.
type RecordType uint16

const (
	TypeCluster                   RecordType = 1
	TypeTopic                     RecordType = 2
	TypePartition                 RecordType = 3
	TypePartitionChange           RecordType = 4
	TypeRemoveTopic               RecordType = 5
	TypeConfig                    RecordType = 6
	TypeRegisterBroker            RecordType = 7
	TypeUnregisterBroker          RecordType = 8
	TypeBrokerRegistrationChange  RecordType = 9
	TypeProducerIDs               RecordType = 10
	TypeClientQuota               RecordType = 11
	maxRecordType                            = TypeClientQuota
	noChange                      int32      = -2 // PartitionChange: field unchanged
	NoLeader                      int32      = -1
	ResourceTopic                 int8       = 2 // ConfigRecord resource types (DescribeConfigs numbering)
	ResourceBroker                int8       = 4
	SecurityProtocolPlaintext     int16      = 0
	SecurityProtocolSSL           int16      = 1
	SecurityProtocolSASLPlaintext int16      = 2
	SecurityProtocolSASLSSL       int16      = 3
)

// NoChange marks a PartitionChange field that keeps its value.
const NoChange = noChange

// Record is one typed metadata record. Records are values: once proposed
// they are never modified.
type Record interface {
	Type() RecordType
}

// ClusterRecord fixes the cluster id. The first active controller writes it
// into an empty log.
type ClusterRecord struct {
	ClusterID string
}

// TopicRecord creates a topic. Its partitions follow as PartitionRecords in
// the same entry.
type TopicRecord struct {
	Name string
	ID   UUID
}

// PartitionRecord creates a partition, or replaces it whole (snapshots).
type PartitionRecord struct {
	TopicID          UUID
	Partition        int32
	Replicas         []int32
	ISR              []int32
	Leader           int32
	LeaderEpoch      int32
	PartitionEpoch   int32
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// PartitionChangeRecord changes a partition. Leader is NoChange, NoLeader
// or a broker id; nil slices keep their value. Applying it bumps the
// partition epoch, and the leader epoch when the leader changes.
type PartitionChangeRecord struct {
	TopicID          UUID
	Partition        int32
	Leader           int32
	ISR              []int32
	Replicas         []int32
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// RemoveTopicRecord deletes a topic, its partitions and its configs.
type RemoveTopicRecord struct {
	TopicID UUID
}

// ConfigRecord sets (or with Delete removes) one config of a resource.
// ResourceName "" with ResourceBroker is the cluster-wide broker default.
type ConfigRecord struct {
	ResourceType int8
	ResourceName string
	Name         string
	Value        string
	Delete       bool
}

// Endpoint is one listener a broker advertises.
type Endpoint struct {
	Listener         string
	Host             string
	Port             int32
	SecurityProtocol int16
}

// RegisterBrokerRecord registers a broker incarnation.
type RegisterBrokerRecord struct {
	BrokerID      int32
	IncarnationID UUID
	BrokerEpoch   int64
	Endpoints     []Endpoint
	Rack          string
	Fenced        bool
}

// UnregisterBrokerRecord removes a broker registration.
type UnregisterBrokerRecord struct {
	BrokerID    int32
	BrokerEpoch int64
}

// BrokerRegistrationChangeRecord fences or unfences a broker, or marks its
// controlled shutdown. Fenced and InControlledShutdown are -1 for no change,
// 0 false, 1 true.
type BrokerRegistrationChangeRecord struct {
	BrokerID             int32
	BrokerEpoch          int64
	Fenced               int8
	InControlledShutdown int8
}

// ProducerIDsRecord hands the block of producer ids below NextProducerID to
// BrokerID; later blocks start at NextProducerID.
type ProducerIDsRecord struct {
	BrokerID       int32
	BrokerEpoch    int64
	NextProducerID int64
}

// ClientQuotaRecord sets one client quota of an entity (KIP-546), or with
// Remove removes it.
type ClientQuotaRecord struct {
	Entity QuotaEntity
	Key    string // producer_byte_rate, consumer_byte_rate, ...
	Value  float64
	Remove bool
}

// QuotaEntity is who a client quota applies to: a user, a client id, or a
// user's client id; or, alone, an ip address, for connection quotas
// (KIP-612). Its value is usable as a map key.
type QuotaEntity struct {
	User     QuotaName
	ClientID QuotaName
	IP       QuotaName // an address as net.IP prints it; never with User or ClientID
}

// QuotaName is one part of a QuotaEntity: absent, a name, or the default
// (<default>: every user or client id without a quota of its own).
type QuotaName struct {
	Set     bool
	Default bool
	Name    string // "" when Default
}

// QuotaNamed and QuotaDefault make the parts of an entity.
func QuotaNamed(name string) QuotaName { return QuotaName{Set: true, Name: name} }

// QuotaDefault is the <default> part.
var QuotaDefault = QuotaName{Set: true, Default: true}

func (ClusterRecord) Type() RecordType                  { return TypeCluster }
func (TopicRecord) Type() RecordType                    { return TypeTopic }
func (PartitionRecord) Type() RecordType                { return TypePartition }
func (PartitionChangeRecord) Type() RecordType          { return TypePartitionChange }
func (RemoveTopicRecord) Type() RecordType              { return TypeRemoveTopic }
func (ConfigRecord) Type() RecordType                   { return TypeConfig }
func (RegisterBrokerRecord) Type() RecordType           { return TypeRegisterBroker }
func (UnregisterBrokerRecord) Type() RecordType         { return TypeUnregisterBroker }
func (BrokerRegistrationChangeRecord) Type() RecordType { return TypeBrokerRegistrationChange }
func (ProducerIDsRecord) Type() RecordType              { return TypeProducerIDs }
func (ClientQuotaRecord) Type() RecordType              { return TypeClientQuota }
