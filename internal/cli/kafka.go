package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafka.go is the registry of Kafka tool personalities and what they share.
// A personality takes the flags of the Kafka tool it is named after (both
// the pre- and post-KIP-1147 spellings) and prints that tool's output
// formats, so runbooks and scripts written for Kafka keep working. Where
// samsa differs from Kafka the usage text says so. Usage errors exit 2 (the
// Kafka tools exit 1); failed operations exit 1 as Kafka's do.

// personality is one Kafka tool samsa can stand in for.
type personality struct {
	name string // "kafka-topics.sh"
	run  func(ctx context.Context, e *env, args []string) int
}

var personalities = []personality{
	{"kafka-topics.sh", kafkaTopics},
	{"kafka-console-producer.sh", kafkaConsoleProducer},
	{"kafka-console-consumer.sh", kafkaConsoleConsumer},
	{"kafka-consumer-groups.sh", kafkaConsumerGroups},
	{"kafka-configs.sh", kafkaConfigs},
	{"kafka-metadata-quorum.sh", kafkaMetadataQuorum},
	{"kafka-reassign-partitions.sh", kafkaReassignPartitions},
	{"kafka-leader-election.sh", kafkaLeaderElection},
	{"kafka-get-offsets.sh", kafkaGetOffsets},
	{"kafka-delete-records.sh", kafkaDeleteRecords},
	{"kafka-log-dirs.sh", kafkaLogDirs},
	{"kafka-broker-api-versions.sh", kafkaBrokerAPIVersions},
	{"kafka-cluster.sh", kafkaCluster},
	{"kafka-transactions.sh", kafkaTransactions},
	{"kafka-producer-perf-test.sh", kafkaProducerPerfTest},
	{"kafka-consumer-perf-test.sh", kafkaConsumerPerfTest},
	{"kafka-server-start.sh", kafkaServerStart},
	{"kafka-server-stop.sh", kafkaServerStop},
	{"kafka-storage.sh", kafkaStorage},
	{"kafka-dump-log.sh", kafkaDumpLog},
}

// personalityFor finds the personality for a program or command name, with
// or without the .sh (or Windows .bat) suffix.
func personalityFor(name string) *personality {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".sh"), ".bat")
	for i := range personalities {
		if strings.TrimSuffix(personalities[i].name, ".sh") == base {
			return &personalities[i]
		}
	}
	return nil
}

// kafkaConn are the connection flags of a Kafka admin tool.
type kafkaConn struct {
	bootstrap *string
	config    *string
}

// addKafkaConn adds --bootstrap-server, --command-config and --version.
// (--zookeeper is caught by env.parse for every command.)
func addKafkaConn(f *flagSet, configUsage string) *kafkaConn {
	c := &kafkaConn{
		bootstrap: f.String("bootstrap-server", "", "HOST:PORT,...", "the brokers to connect to (default $SAMSA_BROKERS or "+defaultBrokers+")"),
		config:    f.String("command-config", "", "FILE", configUsage),
	}
	f.Bool("version", "print the version and exit")
	return c
}

// kafkaParse parses like env.parse and then handles --version, which every
// Kafka tool has.
func (e *env) kafkaParse(f *flagSet, args []string) (int, bool) {
	code, ok := e.parse(f, args)
	if !ok {
		return code, false
	}
	if f.Changed("version") {
		fmt.Fprintf(e.stdout, "%s (samsa %s)\n", e.prog, Version)
		return 0, false
	}
	return 0, true
}

// load reads --command-config and any extra property files, later ones
// winning.
func (c *kafkaConn) load(e *env) (*props, error) {
	p := &props{}
	if *c.config != "" {
		fp, err := loadPropsFile(*c.config)
		if err != nil {
			return nil, err
		}
		p.Merge(fp)
	}
	return p, nil
}

// client builds a client for role from --bootstrap-server and
// --command-config, as connFlags.client does for samsa's own commands.
func (c *kafkaConn) client(e *env, role clientRole) (*kgo.Client, error) {
	p, err := c.load(e)
	if err != nil {
		return nil, err
	}
	return e.newClient(e.seedBrokers(*c.bootstrap, p), p, role)
}

// kafkaOptionConflict is jopt-simple's message for options that cannot be
// combined.
func kafkaOptionConflict(a, b string) error {
	return usagef("Option \"[%s]\" can't be used with option \"[%s]\"", a, b)
}

// kafkaMissing is jopt-simple's message for a missing required option.
func kafkaMissing(name string) error {
	return usagef("Missing required argument \"[%s]\"", name)
}
