package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/samsa-io/samsa/internal/config"
)

// kafka_storage.go is the kafka-storage.sh personality: random-uuid,
// format and info, as Kafka 4.x's quickstart types them:
//
//	KAFKA_CLUSTER_ID="$(kafka-storage.sh random-uuid)"
//	kafka-storage.sh format --standalone -t $KAFKA_CLUSTER_ID -c config/server.properties
//
// samsa needs no formatting when server.properties names its voters
// (controller.quorum.voters) or none at all; format is for the KIP-853
// configuration, controller.quorum.bootstrap.servers, where it records the
// initial voters (--standalone, --initial-controllers) and the cluster id.
// The work is done by the broker package, through Node.Format.
//
// Where samsa differs: it has no feature versions, so --release-version is
// accepted and ignored with a warning, and --feature is refused; it has no
// SCRAM credentials to bootstrap, so --add-scram is refused; the
// "Formatting ..." lines do not name a metadata.version, and there is no
// "Bootstrap metadata" line. version-mapping and feature-dependencies are
// refused.

const storageUsage = "usage: kafka-storage.sh {info,format,random-uuid} ..."

func kafkaStorage(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, storageUsage)
		fmt.Fprintln(e.stdout, "\nThe Kafka storage tool: random-uuid prints a new cluster id; format -t ID -c FILE prepares the\n"+
			"log directories; info -c FILE shows them. (samsa: see `kafka-storage.sh format --help`.)")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "random-uuid":
		if len(rest) > 0 {
			return e.fail(usagef("random-uuid takes no arguments"))
		}
		fmt.Fprintln(e.stdout, randomClusterID())
		return 0
	case "format":
		return storageFormat(e, rest)
	case "info":
		return storageInfo(e, rest)
	case "version-mapping", "feature-dependencies":
		return e.fail(fmt.Errorf("%s: samsa has no metadata.version or feature versions", cmd))
	default:
		fmt.Fprintf(e.stderr, "%s\nkafka-storage.sh: error: argument command: invalid choice: '%s' (choose from 'info', 'format', 'random-uuid')\n", storageUsage, cmd)
		return 2
	}
}

// randomClusterID is Kafka's Uuid.randomUuid().toString(): 16 random
// bytes in URL-safe base64, redrawn when it would start with '-' (Kafka
// avoids ids that read as command-line flags).
func randomClusterID() string {
	for {
		var b [16]byte
		_, _ = rand.Read(b[:])
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		if s := base64.RawURLEncoding.EncodeToString(b[:]); s[0] != '-' {
			return s
		}
	}
}

func storageFormat(e *env, args []string) int {
	f := newFlagSet("kafka-storage.sh format -t CLUSTER_ID -c FILE [--standalone | --initial-controllers LIST | --no-initial-controllers] [--ignore-formatted]",
		"Prepare the log directories of a node for a cluster: write meta.properties (cluster id, node id,\n"+
			"directory id) into each, and, for a quorum configured with controller.quorum.bootstrap.servers,\n"+
			"the initial voters into the metadata log directory.")
	cfgFile := f.String("config,c", "", "FILE", "the server.properties of the node")
	clusterID := f.String("cluster-id,t", "", "ID", "the cluster id (kafka-storage.sh random-uuid)")
	f.Bool("standalone,s", "this node is the only initial voter (a controller)")
	initial := f.String("initial-controllers,I", "", "ID@HOST:PORT:DIR_ID,...", "the initial voters, each with its metadata directory id")
	f.Bool("no-initial-controllers,N", "record no voters: a broker, or a controller joining a quorum formed elsewhere")
	f.Bool("ignore-formatted,g", "skip directories formatted already instead of failing")
	f.String("release-version,r", "", "VERSION", "accepted and ignored: samsa has no metadata.version")
	f.Multi("feature,f", "NAME=LEVEL", "refused: samsa has no feature versions")
	f.Multi("add-scram,S", "SCRAM", "refused: samsa bootstraps no SCRAM credentials")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if len(f.Args()) > 0 {
		return e.usageFail(f, usagef("unrecognized arguments: '%s'", strings.Join(f.Args(), " ")))
	}
	switch {
	case !f.Changed("config"):
		return e.usageFail(f, usagef("argument --config/-c is required"))
	case !f.Changed("cluster-id"):
		return e.usageFail(f, usagef("argument --cluster-id/-t is required"))
	case f.Changed("feature"):
		return e.fail(errors.New("--feature: samsa has no feature versions to set"))
	case f.Changed("add-scram"):
		return e.fail(errors.New("--add-scram: samsa bootstraps no SCRAM credentials"))
	}
	if f.Changed("release-version") {
		e.warnf("samsa has no metadata.version: --release-version is ignored")
	}
	req := config.FormatRequest{
		ClusterID:            *clusterID,
		Standalone:           f.Changed("standalone"),
		NoInitialControllers: f.Changed("no-initial-controllers"),
		IgnoreFormatted:      f.Changed("ignore-formatted"),
	}
	if f.Changed("initial-controllers") {
		var err error
		if req.InitialControllers, req.DirectoryIDs, err = parseInitialControllers(*initial); err != nil {
			return e.fail(err)
		}
	}
	cfg, _, err := config.Load(*cfgFile, nil, nil)
	if err != nil {
		return e.fail(err)
	}
	if e.node.Format == nil {
		return e.fail(errors.New("this build cannot format log directories"))
	}
	if err := e.node.Format(cfg, req, e.stdout); err != nil {
		return e.fail(err)
	}
	return 0
}

// parseInitialControllers parses KIP-853's id@host:port:directory-id list.
func parseInitialControllers(s string) ([]config.Voter, [][16]byte, error) {
	var voters []config.Voter
	var dirs [][16]byte
	for _, entry := range strings.Split(s, ",") {
		hostPort, dirID, ok := cutLast(entry, ":")
		if !ok || !strings.Contains(hostPort, ":") {
			return nil, nil, fmt.Errorf("--initial-controllers: %q is not id@host:port:directory-id", entry)
		}
		vs, err := config.ParseVoters(hostPort)
		if err != nil {
			return nil, nil, fmt.Errorf("--initial-controllers: %w", err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(dirID)
		if err != nil || len(raw) != 16 {
			return nil, nil, fmt.Errorf("--initial-controllers: %q is not a directory id (a base64 UUID)", dirID)
		}
		if slices.ContainsFunc(voters, func(v config.Voter) bool { return v.ID == vs[0].ID }) {
			return nil, nil, fmt.Errorf("--initial-controllers: node %d is named twice", vs[0].ID)
		}
		voters = append(voters, vs[0])
		dirs = append(dirs, [16]byte(raw))
	}
	return voters, dirs, nil
}

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// storageInfo prints the log directories of a configuration and what their
// meta.properties say, as Kafka's info does.
func storageInfo(e *env, args []string) int {
	f := newFlagSet("kafka-storage.sh info -c FILE", "Show the log directories of a node and their meta.properties.")
	cfgFile := f.String("config,c", "", "FILE", "the server.properties of the node")
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if !f.Changed("config") {
		return e.usageFail(f, usagef("argument --config/-c is required"))
	}
	cfg, _, err := config.Load(*cfgFile, nil, nil)
	if err != nil {
		return e.fail(err)
	}
	dirs := slices.Clone(cfg.LogDirs)
	if !slices.Contains(dirs, cfg.Quorum.MetadataLogDir) {
		dirs = append(dirs, cfg.Quorum.MetadataLogDir)
	}
	var problems, found []string
	var first string          // the first meta.properties, as Kafka prints it
	same := map[string]bool{} // each one without its directory.id
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			problems = append(problems, fmt.Sprintf("%s does not exist", dir))
			continue
		}
		found = append(found, dir)
		p, err := loadPropsFile(filepath.Join(dir, "meta.properties"))
		if errors.Is(err, os.ErrNotExist) {
			problems = append(problems, fmt.Sprintf("%s is not formatted.", dir))
			continue
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		var kv, shared []string
		for _, k := range slices.Sorted(slices.Values(p.Keys())) {
			v, _ := p.Get(k)
			kv = append(kv, k+"="+v)
			if k != "directory.id" {
				shared = append(shared, k+"="+v)
			}
		}
		if first == "" {
			first = "{" + strings.Join(kv, ", ") + "}"
		}
		same[strings.Join(shared, ",")] = true
	}
	printList(e, "Found log directory:", "Found log directories:", found)
	if first != "" {
		fmt.Fprintf(e.stdout, "Found metadata: %s\n\n", first)
	}
	if len(same) > 1 {
		problems = append(problems, "the log directories' meta.properties name different clusters or nodes")
	}
	if len(problems) > 0 {
		printList(e, "Found problem:", "Found problems:", problems)
		return 1
	}
	return 0
}

// printList prints a heading (one for one item, other for several or
// none), the items indented, and a blank line, as Kafka's info does.
func printList(e *env, one, other string, items []string) {
	if len(items) == 1 {
		fmt.Fprintln(e.stdout, one)
	} else {
		fmt.Fprintln(e.stdout, other)
	}
	for _, it := range items {
		fmt.Fprintf(e.stdout, "  %s\n", it)
	}
	fmt.Fprintln(e.stdout)
}
