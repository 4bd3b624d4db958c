package broker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/storage"
)

const testClusterID = "MkU3OEVBNTcwNTJENDM2Qg"

// dynamicNode is a node whose quorum is named by bootstrap servers, with
// its data in two directories and its metadata log in a third.
func dynamicNode(t *testing.T, roles string, extra ...string) *config.Broker {
	t.Helper()
	dir := t.TempDir()
	props := map[string]string{
		"node.id":                             "1",
		"process.roles":                       roles,
		"controller.quorum.bootstrap.servers": "127.0.0.1:19093",
		"controller.listener.names":           "CONTROLLER",
		"listeners":                           "PLAINTEXT://127.0.0.1:19092,CONTROLLER://:19093",
		"advertised.listeners":                "PLAINTEXT://127.0.0.1:19092,CONTROLLER://ctrl.example:19093",
		"log.dirs":                            filepath.Join(dir, "a") + "," + filepath.Join(dir, "b"),
		"metadata.log.dir":                    filepath.Join(dir, "meta"),
	}
	if roles == "broker" {
		props["listeners"] = "PLAINTEXT://127.0.0.1:19092"
		delete(props, "advertised.listeners")
	}
	for i := 0; i+1 < len(extra); i += 2 {
		props[extra[i]] = extra[i+1]
	}
	cfg, _, err := config.FromMap(props)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestFormatStandalone(t *testing.T) {
	cfg := dynamicNode(t, "broker,controller")
	var out bytes.Buffer
	if err := Format(cfg, config.FormatRequest{ClusterID: testClusterID, Standalone: true}, &out); err != nil {
		t.Fatal(err)
	}
	want := "Formatting data directory " + cfg.LogDirs[0] + ".\n" +
		"Formatting data directory " + cfg.LogDirs[1] + ".\n" +
		"Formatting dynamic metadata voter directory " + cfg.Quorum.MetadataLogDir + ".\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	ids := map[[16]byte]bool{}
	for _, dir := range append(cfg.LogDirs, cfg.Quorum.MetadataLogDir) {
		m, ok, err := storage.ReadMetaFile(dir)
		if err != nil || !ok || m.Version != 1 || m.ClusterID != testClusterID || m.NodeID != 1 {
			t.Fatalf("%s: meta %+v, %v, %v", dir, m, ok, err)
		}
		ids[m.DirectoryID] = true
	}
	if len(ids) != 3 {
		t.Errorf("directory ids are not distinct: %v", ids)
	}
	// The one voter is this node at its advertised controller endpoint.
	resolved, err := ResolveVoters(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got := resolved.Quorum.Voters; len(got) != 1 || got[0].String() != "1@ctrl.example:19093" {
		t.Errorf("voters %v", got)
	}
	if len(cfg.Quorum.Voters) != 0 {
		t.Errorf("ResolveVoters changed its argument: %v", cfg.Quorum.Voters)
	}

	out.Reset()
	err = Format(cfg, config.FormatRequest{ClusterID: testClusterID, Standalone: true}, &out)
	if err == nil || err.Error() != "Log directory "+cfg.LogDirs[0]+" is already formatted. Use --ignore-formatted to ignore this directory and format the others." {
		t.Errorf("formatting twice: %v", err)
	}
	if err := Format(cfg, config.FormatRequest{ClusterID: testClusterID, Standalone: true, IgnoreFormatted: true}, &out); err != nil ||
		out.String() != "All of the log directories are already formatted.\n" {
		t.Errorf("--ignore-formatted: %v, %q", err, out.String())
	}
}

func TestFormatInitialControllersKeepsTheDirectoryID(t *testing.T) {
	cfg := dynamicNode(t, "broker,controller")
	dirID, _ := storage.DecodeUUID("vzCmQCVkQz2qKxYwx16ndg")
	voters := []config.Voter{{ID: 2, Host: "h2", Port: 9093}, {ID: 1, Host: "h1", Port: 9093}, {ID: 3, Host: "h3", Port: 9093}}
	req := config.FormatRequest{ClusterID: testClusterID, InitialControllers: voters, DirectoryIDs: [][16]byte{{}, dirID, {}}}
	if err := Format(cfg, req, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	m, _, _ := storage.ReadMetaFile(cfg.Quorum.MetadataLogDir)
	if m.DirectoryID != dirID {
		t.Errorf("metadata directory id %s, want the one --initial-controllers gave", storage.EncodeUUID(m.DirectoryID))
	}
	resolved, err := ResolveVoters(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(resolved.Quorum.Voters); got != "[2@h2:9093 1@h1:9093 3@h3:9093]" {
		t.Errorf("voters %s", got)
	}
}

// A broker-only node may be formatted with the controllers' list too: its
// metadata directory is not a voter's, and it starts with those voters.
func TestFormatInitialControllersOnABroker(t *testing.T) {
	cfg := dynamicNode(t, "broker")
	dirID, _ := storage.DecodeUUID("vzCmQCVkQz2qKxYwx16ndg")
	req := config.FormatRequest{ClusterID: testClusterID, InitialControllers: []config.Voter{{ID: 2, Host: "h2", Port: 9093}},
		DirectoryIDs: [][16]byte{dirID}}
	var out bytes.Buffer
	if err := Format(cfg, req, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "Formatting dynamic metadata directory "+cfg.Quorum.MetadataLogDir+".\n") {
		t.Errorf("printed\n%s", out.String())
	}
	if m, _, _ := storage.ReadMetaFile(cfg.Quorum.MetadataLogDir); m.DirectoryID == dirID {
		t.Error("the broker's metadata directory took controller 2's directory id")
	}
	resolved, err := ResolveVoters(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil || fmt.Sprint(resolved.Quorum.Voters) != "[2@h2:9093]" {
		t.Errorf("voters %v, %v", resolved.Quorum.Voters, err)
	}
}

func TestFormatRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roles string
		extra []string
		req   config.FormatRequest
		want  string
	}{
		{"bad cluster id", "broker,controller", nil, config.FormatRequest{ClusterID: "nope", Standalone: true},
			"Cluster ID string nope does not appear to be a valid UUID"},
		{"a controller without voters", "broker,controller", nil, config.FormatRequest{ClusterID: testClusterID},
			"Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers."},
		{"two voter options", "broker,controller", nil, config.FormatRequest{ClusterID: testClusterID, Standalone: true, NoInitialControllers: true},
			"Only one of --standalone, --initial-controllers and --no-initial-controllers may be given."},
		{"standalone on a broker", "broker", nil, config.FormatRequest{ClusterID: testClusterID, Standalone: true},
			"You can only use --standalone on a controller"},
		{"a controller left out of the initial voters", "broker,controller", nil,
			config.FormatRequest{ClusterID: testClusterID, InitialControllers: []config.Voter{{ID: 2, Host: "h", Port: 1}}},
			"node 1 is a controller but not one of --initial-controllers"},
		{"static voters", "broker,controller", []string{"controller.quorum.voters", "1@127.0.0.1:19093", "controller.quorum.bootstrap.servers", ""},
			config.FormatRequest{ClusterID: testClusterID, Standalone: true}, "You cannot use --standalone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := dynamicNode(t, tc.roles, tc.extra...)
			err := Format(cfg, tc.req, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			for _, dir := range append(cfg.LogDirs, cfg.Quorum.MetadataLogDir) {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("%s was created by a refused format", dir)
				}
			}
		})
	}

	// Static voters need no formatting, but format works and records none.
	cfg := dynamicNode(t, "broker,controller", "controller.quorum.voters", "1@127.0.0.1:19093", "controller.quorum.bootstrap.servers", "")
	var out bytes.Buffer
	if err := Format(cfg, config.FormatRequest{ClusterID: testClusterID}, &out); err != nil ||
		!strings.Contains(out.String(), "Formatting metadata directory "+cfg.Quorum.MetadataLogDir+".") {
		t.Errorf("static voters: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(cfg.Quorum.MetadataLogDir, bootstrapVotersFile)); !os.IsNotExist(err) {
		t.Errorf("static voters recorded as initial voters: %v", err)
	}
}

func TestResolveVotersNeedsAFormattedController(t *testing.T) {
	cfg := dynamicNode(t, "broker,controller")
	_, err := ResolveVoters(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "run kafka-storage.sh format with --standalone or --initial-controllers") {
		t.Fatalf("unformatted controller: %v", err)
	}
	// A broker with nothing recorded asks the bootstrap servers, and gives
	// up when its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ResolveVoters(ctx, dynamicNode(t, "broker"), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "no controller answered at controller.quorum.bootstrap.servers") {
		t.Fatalf("broker without controllers: %v", err)
	}
}
