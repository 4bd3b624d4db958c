package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_broker_api_versions.go is the kafka-broker-api-versions.sh
// personality (Kafka's BrokerApiVersionsCommand): Metadata for the brokers,
// then an ApiVersions request to each, printed as Kafka 4.x prints a
// Node and NodeApiVersions.toString(true):
//
//	localhost:9092 (id: 1 rack: null isFenced: false) -> (
//		Produce(0): 0 to 12 [usable: 12],
//		...
//		DeleteShareGroupOffsets(92): UNSUPPORTED
//	)
//
// one line per API in key order: the broker's range ("N" when it is one
// version), then the highest version both it and this client speak, or
// "[unusable: node too new]" when the broker's lowest is above this
// client's highest. An API the client does not know prints as UNKNOWN(key);
// one of Kafka's broker APIs (ApiKeys.clientApis) the broker does not
// advertise prints as UNSUPPORTED. The brokers come in the order Kafka's
// HashMap of nodes iterates them (javaMapOrder); isFenced is always false,
// as Metadata does not carry it. A broker that cannot be asked prints
// "host:port (...) -> ERROR: message" and the others are still asked; the
// exit code stays 0, as in Kafka. An error code in the answer prints as
// Kafka prints the exception (javaExceptionText).
//
// Where samsa differs: this client is franz-go, so "usable" is the lower of
// the broker's highest version and kmsg's, and an API kmsg knows that Kafka
// 4.x does not (keys above 92) prints with kmsg's name, not as UNKNOWN. The
// API names are Kafka's (ApiKeys), where kmsg spells them differently
// (kafkaAPINames). An unreachable broker's ERROR line carries the Go
// client's error where Kafka names a Java exception (DisconnectException,
// TimeoutException).
// --bootstrap-server is not required (the cluster is found as for every
// command).

// apiVersionsTimeout bounds each broker's ApiVersions, as the 5 s
// request.timeout.ms of Kafka's tool does.
const apiVersionsTimeout = 5 * time.Second

func kafkaBrokerAPIVersions(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-broker-api-versions.sh --bootstrap-server HOST:PORT [--command-config FILE]",
		"This tool helps to retrieve broker version information.")
	conn := addKafkaConn(f, "A property file containing configs to be passed to Admin Client.")
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return e.fail(err)
	}
	brokers := slices.Clone(md.Brokers)
	slices.SortFunc(brokers, func(a, b kadm.BrokerDetail) int { return int(a.NodeID) - int(b.NodeID) })
	for _, b := range javaMapOrder(brokers, javaNodeHash, javaDefaultCapacity) {
		keys, err := brokerAPIVersions(ctx, cl, b.NodeID)
		if err != nil {
			fmt.Fprintf(e.stdout, "%s -> ERROR: %v\n", kafkaNode(b), err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s -> %s\n", kafkaNode(b), apiVersionsText(keys))
	}
	return 0
}

// brokerAPIVersions sends ApiVersions to one broker. An error code in the
// answer is returned as Kafka prints the exception its client raises
// ("org.apache.kafka.common.errors.X: description").
func brokerAPIVersions(ctx context.Context, cl *kgo.Client, id int32) ([]kmsg.ApiVersionsResponseApiKey, error) {
	ctx, cancel := context.WithTimeout(ctx, apiVersionsTimeout)
	defer cancel()
	req := kmsg.NewPtrApiVersionsRequest()
	// Broker.Request sends the request as it is; v3+ needs these.
	req.ClientSoftwareName, req.ClientSoftwareVersion = "samsa", softwareVersion(Version)
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return nil, errors.New(javaExceptionText(resp.ErrorCode))
	}
	return resp.ApiKeys, nil
}

// softwareVersion makes v fit KIP-511's pattern for a client software
// version, [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?, replacing other
// characters with '-'.
func softwareVersion(v string) string {
	s := strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '-'
	}, v)
	s = strings.Trim(s, "-.")
	if s == "" {
		return "unknown"
	}
	return s
}

// kafkaNode is Node.toString in Kafka 4.x.
func kafkaNode(b kadm.BrokerDetail) string {
	rack := "null"
	if b.Rack != nil {
		rack = *b.Rack
	}
	return fmt.Sprintf("%s:%d (id: %d rack: %s isFenced: false)", b.Host, b.Port, b.NodeID, rack)
}

// javaNodeHash is Node.hashCode in Kafka 4.x, for a node that is not
// fenced.
func javaNodeHash(b kadm.BrokerDetail) int32 {
	h := 31 + javaStringHash(b.Host)
	h = 31*h + b.NodeID
	h = 31*h + b.Port
	var rack int32
	if b.Rack != nil {
		rack = javaStringHash(*b.Rack)
	}
	h = 31*h + rack
	return 31*h + 1237 // Boolean.hashCode(false)
}

// apiVersionsText is NodeApiVersions.toString(true): "(", a tab-indented
// line per API in key order, all but the last ending in ",", and ")".
func apiVersionsText(keys []kmsg.ApiVersionsResponseApiKey) string {
	lines := map[int16]string{}
	for _, k := range keys {
		lines[k.ApiKey] = apiVersionText(k) // a repeated key: the last wins
	}
	for key := range int16(kafkaLastAPIKey + 1) {
		if _, ok := lines[key]; !ok && kafkaBrokerAPI(key) {
			lines[key] = kafkaAPIName(key) + "(" + strconv.Itoa(int(key)) + "): UNSUPPORTED"
		}
	}
	var b strings.Builder
	b.WriteString("(\n\t")
	for i, key := range slices.Sorted(maps.Keys(lines)) {
		if i > 0 {
			b.WriteString(",\n\t")
		}
		b.WriteString(lines[key])
	}
	b.WriteString("\n)")
	return b.String()
}

// apiVersionText is one API's line, without the tab and comma.
func apiVersionText(k kmsg.ApiVersionsResponseApiKey) string {
	req := kmsg.RequestForKey(k.ApiKey)
	var b strings.Builder
	if req == nil {
		fmt.Fprintf(&b, "UNKNOWN(%d): ", k.ApiKey)
	} else {
		fmt.Fprintf(&b, "%s(%d): ", kafkaAPIName(k.ApiKey), k.ApiKey)
	}
	if k.MinVersion == k.MaxVersion {
		fmt.Fprint(&b, k.MinVersion)
	} else {
		fmt.Fprintf(&b, "%d to %d", k.MinVersion, k.MaxVersion)
	}
	if req == nil {
		return b.String()
	}
	// kmsg's lowest version of every API is 0: a broker is too old only
	// if its highest is below that.
	switch ours := req.MaxVersion(); {
	case ours < k.MinVersion:
		b.WriteString(" [unusable: node too new]")
	case k.MaxVersion < 0:
		b.WriteString(" [unusable: node too old]")
	default:
		fmt.Fprintf(&b, " [usable: %d]", min(ours, k.MaxVersion))
	}
	return b.String()
}

// kafkaLastAPIKey is the highest key in Kafka 4.x's ApiKeys
// (DeleteShareGroupOffsets).
const kafkaLastAPIKey = 92

// kafkaBrokerAPI reports whether key is one of Kafka 4.x's
// ApiKeys.clientApis(), the APIs of the broker listener: every key up to
// kafkaLastAPIKey but those removed with ZooKeeper (4 to 7) and the
// controller-only ones.
func kafkaBrokerAPI(key int16) bool {
	switch key {
	case 4, 5, 6, 7, // LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown
		52, 53, 54, 56, 58, 59, // Vote, BeginQuorumEpoch, EndQuorumEpoch, AlterPartition, Envelope, FetchSnapshot
		62, 63, 67, 70, 73, 82: // BrokerRegistration, BrokerHeartbeat, AllocateProducerIds, ControllerRegistration, AssignReplicasToDirs, UpdateRaftVoter
		return false
	}
	return key >= 0 && key <= kafkaLastAPIKey
}

// kafkaAPINames are Kafka's names (ApiKeys' name, from the message schema)
// for the APIs kmsg names differently.
var kafkaAPINames = map[int16]string{
	4:  "LeaderAndIsr",
	17: "SaslHandshake",
	22: "InitProducerId",
	29: "DescribeAcls",
	30: "CreateAcls",
	31: "DeleteAcls",
	36: "SaslAuthenticate",
	45: "AlterPartitionReassignments",
	50: "DescribeUserScramCredentials",
	51: "AlterUserScramCredentials",
	67: "AllocateProducerIds",
}

// kafkaAPIName is the name Kafka prints for an API key.
func kafkaAPIName(key int16) string {
	if name, ok := kafkaAPINames[key]; ok {
		return name
	}
	return kmsg.NameForKey(key)
}
