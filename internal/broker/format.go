package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/kclient"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/storage"
)

// format.go prepares log directories as kafka-storage.sh format does, and
// finds the metadata quorum of a node configured the KIP-853 way: with
// controller.quorum.bootstrap.servers instead of controller.quorum.voters.
//
// samsa's quorum is static: its voters are fixed when the cluster is
// formed. A node configured with bootstrap servers gets its voters from
//
//   - the initial voters format recorded in its metadata log directory
//     (--standalone: this node alone; --initial-controllers: the list), in
//     the file bootstrap.voters, written once and read at every start;
//   - failing that, if it is a broker only, the controllers themselves: it
//     asks the bootstrap servers (DescribeCluster on their controller
//     listener, KIP-919) until one answers.
//
// A controller must be one of the voters it finds: samsa cannot add a
// controller to a running quorum (kafka-metadata-quorum.sh add-controller).

// bootstrapVotersFile holds the initial voters, in the metadata log
// directory, as one controller.quorum.voters line.
const bootstrapVotersFile = "bootstrap.voters"

// Format writes meta.properties (the cluster id, node id and a directory
// id) into every log directory and the metadata log directory, and the
// initial voters into the metadata log directory, printing a line per
// directory to out. It fails without writing anything when a directory is
// formatted already (unless IgnoreFormatted) or the request does not fit
// the configuration.
func Format(cfg *config.Broker, req config.FormatRequest, out io.Writer) error {
	if _, err := storage.DecodeUUID(req.ClusterID); err != nil {
		return fmt.Errorf("Cluster ID string %s does not appear to be a valid UUID", req.ClusterID)
	}
	if cfg.NodeID < 0 {
		return errors.New("You must specify a valid non-negative node ID.")
	}
	initial, err := initialVoters(cfg, req)
	if err != nil {
		return err
	}
	dirs := slices.Clone(cfg.LogDirs)
	if md := cfg.Quorum.MetadataLogDir; !slices.Contains(dirs, md) {
		dirs = append(dirs, md)
	}
	var empty []string
	for _, dir := range dirs {
		m, ok, err := storage.ReadMetaFile(dir)
		switch {
		case err != nil:
			return fmt.Errorf("read %s: %w", filepath.Join(dir, "meta.properties"), err)
		case !ok:
			empty = append(empty, dir)
		case !req.IgnoreFormatted:
			return fmt.Errorf("Log directory %s is already formatted. Use --ignore-formatted to ignore this directory and format the others.", dir)
		case m.ClusterID != req.ClusterID || m.NodeID != cfg.NodeID:
			return fmt.Errorf("Log directory %s belongs to cluster %s, node %d, not cluster %s, node %d", dir, m.ClusterID, m.NodeID, req.ClusterID, cfg.NodeID)
		}
	}
	if len(empty) == 0 {
		fmt.Fprintln(out, "All of the log directories are already formatted.")
		return nil
	}
	for _, dir := range empty {
		m := storage.Meta{Version: 1, ClusterID: req.ClusterID, NodeID: cfg.NodeID, DirectoryID: metadata.NewUUID()}
		kind := "data directory"
		if dir == cfg.Quorum.MetadataLogDir {
			// A voter's metadata directory takes the directory id
			// --initial-controllers gave it; a broker's gets a new one.
			voter := slices.IndexFunc(initial, func(v config.Voter) bool { return v.ID == cfg.NodeID })
			switch {
			case len(cfg.Quorum.Voters) > 0:
				kind = "metadata directory"
			case voter < 0:
				kind = "dynamic metadata directory"
			default:
				kind = "dynamic metadata voter directory"
				if voter < len(req.DirectoryIDs) && req.DirectoryIDs[voter] != ([16]byte{}) {
					m.DirectoryID = req.DirectoryIDs[voter]
				}
			}
		}
		fmt.Fprintf(out, "Formatting %s %s.\n", kind, dir)
		if dir == cfg.Quorum.MetadataLogDir && initial != nil {
			if err := writeBootstrapVoters(dir, initial); err != nil {
				return err
			}
		}
		if err := storage.WriteMetaFile(dir, m); err != nil {
			return fmt.Errorf("Error while writing meta.properties file %s: %w", dir, err)
		}
	}
	return nil
}

// initialVoters checks the request's voter options against the
// configuration, as Kafka's StorageTool does, and returns the initial
// voters to record (nil: none).
func initialVoters(cfg *config.Broker, req config.FormatRequest) ([]config.Voter, error) {
	dynamic := req.Standalone || len(req.InitialControllers) > 0
	if n := btoi(req.Standalone) + btoi(len(req.InitialControllers) > 0) + btoi(req.NoInitialControllers); n > 1 {
		return nil, errors.New("Only one of --standalone, --initial-controllers and --no-initial-controllers may be given.")
	}
	if len(cfg.Quorum.Voters) > 0 {
		if dynamic || req.NoInitialControllers {
			return nil, errors.New("You cannot use --standalone, --initial-controllers or --no-initial-controllers when controller.quorum.voters is set: " +
				"the voters are static. Remove controller.quorum.voters and set controller.quorum.bootstrap.servers to form the quorum at format time.")
		}
		return nil, nil
	}
	isController := cfg.HasRole("controller")
	switch {
	case req.Standalone:
		if !isController {
			return nil, errors.New("You can only use --standalone on a controller (process.roles contains controller).")
		}
		ep, err := controllerEndpoint(cfg)
		if err != nil {
			return nil, err
		}
		return []config.Voter{{ID: cfg.NodeID, Host: ep.Host, Port: ep.Port}}, nil
	case len(req.InitialControllers) > 0:
		if isController && !slices.ContainsFunc(req.InitialControllers, func(v config.Voter) bool { return v.ID == cfg.NodeID }) {
			return nil, fmt.Errorf("node %d is a controller but not one of --initial-controllers: samsa cannot add a controller to a running quorum", cfg.NodeID)
		}
		return req.InitialControllers, nil
	case isController && !req.NoInitialControllers:
		return nil, errors.New("Because controller.quorum.voters is not set on this controller, you must specify one of the following: " +
			"--standalone, --initial-controllers, or --no-initial-controllers.")
	}
	return nil, nil
}

// controllerEndpoint is the advertised endpoint of this node's first
// controller listener, where other nodes reach its quorum.
func controllerEndpoint(cfg *config.Broker) (config.Listener, error) {
	if len(cfg.ControllerListenerNames) == 0 {
		return config.Listener{}, errors.New("controller.listener.names is empty")
	}
	name := cfg.ControllerListenerNames[0]
	for _, ls := range [][]config.Listener{cfg.AdvertisedListeners, cfg.Listeners} {
		for _, l := range ls {
			if strings.EqualFold(l.Name, name) {
				if l.Host == "" {
					l.Host = "localhost" // what a bind-all listener is reached at on this host
				}
				return l, nil
			}
		}
	}
	return config.Listener{}, fmt.Errorf("no listener named %s (controller.listener.names) in listeners", name)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeBootstrapVoters records the initial voters in dir.
func writeBootstrapVoters(dir string, voters []config.Voter) error {
	names := make([]string, len(voters))
	for i, v := range voters {
		names[i] = v.String()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	content := "# The initial voters of the metadata quorum, written by kafka-storage.sh format.\n" +
		"controller.quorum.voters=" + strings.Join(names, ",") + "\n"
	return os.WriteFile(filepath.Join(dir, bootstrapVotersFile), []byte(content), 0o644)
}

// readBootstrapVoters reads the initial voters format recorded in dir;
// ok is false when it recorded none.
func readBootstrapVoters(dir string) (voters []config.Voter, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, bootstrapVotersFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for line := range strings.Lines(string(data)) {
		if v, found := strings.CutPrefix(strings.TrimSpace(line), "controller.quorum.voters="); found {
			voters, err = config.ParseVoters(v)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", filepath.Join(dir, bootstrapVotersFile), err)
			}
			return voters, true, nil
		}
	}
	return nil, false, fmt.Errorf("%s names no voters", filepath.Join(dir, bootstrapVotersFile))
}

// ResolveVoters returns cfg with its quorum's voters filled in when it
// names bootstrap servers instead (see the top of this file); otherwise
// cfg itself. A broker-only node waits for a bootstrap server to answer
// until ctx ends.
func ResolveVoters(ctx context.Context, cfg *config.Broker, log *slog.Logger) (*config.Broker, error) {
	if len(cfg.Quorum.Voters) > 0 || len(cfg.Quorum.BootstrapServers) == 0 {
		return cfg, nil
	}
	voters, ok, err := readBootstrapVoters(cfg.Quorum.MetadataLogDir)
	if err != nil {
		return nil, err
	}
	if !ok && cfg.HasRole("controller") {
		return nil, fmt.Errorf("controller.quorum.voters is not set and %s records no initial voters: run kafka-storage.sh format "+
			"with --standalone or --initial-controllers first, or set controller.quorum.voters", cfg.Quorum.MetadataLogDir)
	}
	from := "the formatted metadata directory"
	if !ok {
		if voters, err = discoverVoters(ctx, cfg, log); err != nil {
			return nil, err
		}
		from = "the bootstrap servers"
	}
	if cfg.HasRole("controller") && !slices.ContainsFunc(voters, func(v config.Voter) bool { return v.ID == cfg.NodeID }) {
		return nil, fmt.Errorf("node %d is a controller but not one of the quorum's voters %v: samsa cannot add a controller to a running quorum", cfg.NodeID, voters)
	}
	out := *cfg
	out.Quorum.Voters = voters
	log.Info("metadata quorum voters", "voters", fmt.Sprint(voters), "from", from)
	return &out, nil
}

// discoverVoters asks the bootstrap servers for the controllers, one after
// another, until one answers.
func discoverVoters(ctx context.Context, cfg *config.Broker, log *slog.Logger) ([]config.Voter, error) {
	tlsCfg, err := peerTLS(cfg, nil, controllerListenerName(cfg))
	if err != nil {
		return nil, err
	}
	pool := kclient.NewPool("samsa-bootstrap", nil, func() *tls.Config { return tlsCfg })
	defer pool.Close()
	backoff := time.Duration(max(cfg.Quorum.RetryBackoffMs, 20)) * time.Millisecond
	for attempt := 0; ; attempt++ {
		server := cfg.Quorum.BootstrapServers[attempt%len(cfg.Quorum.BootstrapServers)]
		addr := net.JoinHostPort(server.Host, strconv.Itoa(server.Port))
		voters, err := askVoters(ctx, pool, addr)
		if err == nil {
			return voters, nil
		}
		if attempt%len(cfg.Quorum.BootstrapServers) == 0 {
			log.Info("waiting for the controllers (controller.quorum.bootstrap.servers)", "server", addr, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no controller answered at controller.quorum.bootstrap.servers: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// askVoters sends DescribeCluster to a controller listener, which answers
// with the voters (KIP-919).
func askVoters(ctx context.Context, pool *kclient.Pool, addr string) ([]config.Voter, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeClusterRequest()
	req.SetVersion(1)
	req.EndpointType = 2 // controllers
	resp, err := pool.Request(ctx, addr, req)
	if err != nil {
		return nil, err
	}
	r := resp.(*kmsg.DescribeClusterResponse)
	if r.ErrorCode != 0 {
		return nil, fmt.Errorf("DescribeCluster: error code %d", r.ErrorCode)
	}
	var voters []config.Voter
	for _, b := range r.Brokers {
		voters = append(voters, config.Voter{ID: b.NodeID, Host: b.Host, Port: int(b.Port)})
	}
	if len(voters) == 0 {
		return nil, errors.New("DescribeCluster named no controllers")
	}
	slices.SortFunc(voters, func(a, b config.Voter) int { return int(a.ID - b.ID) })
	return voters, nil
}
