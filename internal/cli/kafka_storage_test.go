package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/config"
)

func TestKafkaStorage(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "server.properties")
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(props, []byte("process.roles=broker,controller\nnode.id=3\n"+
		"controller.quorum.bootstrap.servers=localhost:9093\ncontroller.listener.names=CONTROLLER\n"+
		"listeners=PLAINTEXT://:9092,CONTROLLER://:9093\nlog.dirs="+data+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got *config.FormatRequest
	var gotNode int32
	run := func(args ...string) result {
		t.Helper()
		got = nil
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"kafka-storage.sh"}, args...), IO{Stdout: &out, Stderr: &errb},
			Node{Format: func(cfg *config.Broker, req config.FormatRequest, w io.Writer) error {
				got, gotNode = &req, cfg.NodeID
				fmt.Fprintln(w, "formatted")
				return nil
			}})
		return result{code, out.String(), errb.String()}
	}

	t.Run("random-uuid", func(t *testing.T) {
		seen := map[string]bool{}
		for range 20 {
			id := strings.TrimSuffix(run("random-uuid").ok(t), "\n")
			raw, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(raw) != 16 || id[0] == '-' || seen[id] {
				t.Fatalf("random-uuid printed %q", id)
			}
			seen[id] = true
		}
	})

	t.Run("format hands the request to the broker", func(t *testing.T) {
		if out := run("format", "-t", "MkU3OEVBNTcwNTJENDM2Qg", "-c", props, "--standalone", "--ignore-formatted").ok(t); out != "formatted\n" {
			t.Errorf("stdout %q", out)
		}
		if got == nil || gotNode != 3 || got.ClusterID != "MkU3OEVBNTcwNTJENDM2Qg" || !got.Standalone || !got.IgnoreFormatted || got.NoInitialControllers {
			t.Fatalf("request %+v for node %d", got, gotNode)
		}
		run("format", "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qg", "--config", props,
			"--initial-controllers", "3@h3:9093:vzCmQCVkQz2qKxYwx16ndg,1@[::1]:9094:KPKWc7_-RjWVBwNhJ1ax3w").ok(t)
		if fmt.Sprint(got.InitialControllers) != "[3@h3:9093 1@[::1]:9094]" || len(got.DirectoryIDs) != 2 ||
			base64.RawURLEncoding.EncodeToString(got.DirectoryIDs[1][:]) != "KPKWc7_-RjWVBwNhJ1ax3w" {
			t.Errorf("initial controllers %v, directory ids %v", got.InitialControllers, got.DirectoryIDs)
		}
		r := run("format", "-t", "MkU3OEVBNTcwNTJENDM2Qg", "-c", props, "-N", "-r", "4.1-IV1")
		if r.code != 0 || !got.NoInitialControllers || !strings.Contains(r.stderr, "--release-version is ignored") {
			t.Errorf("--release-version: %+v, request %+v", r, got)
		}
	})

	t.Run("format refusals", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			msg  string
		}{
			{[]string{"format", "-c", props}, 2, "argument --cluster-id/-t is required"},
			{[]string{"format", "-t", "x"}, 2, "argument --config/-c is required"},
			{[]string{"format", "-t", "x", "-c", props, "--feature", "kraft.version=1"}, 1, "samsa has no feature versions"},
			{[]string{"format", "-t", "x", "-c", props, "--add-scram", "SCRAM-SHA-256=[name=a,password=b]"}, 1, "samsa bootstraps no SCRAM credentials"},
			{[]string{"format", "-t", "x", "-c", props, "-I", "1@h:9093"}, 1, `"1@h:9093" is not id@host:port:directory-id`},
			{[]string{"format", "-t", "x", "-c", props, "-I", "1@h:9093:short"}, 1, `"short" is not a directory id`},
			{[]string{"format", "-t", "x", "-c", props, "-I", "1@h:9093:vzCmQCVkQz2qKxYwx16ndg,1@g:9093:KPKWc7_-RjWVBwNhJ1ax3w"}, 1, "node 1 is named twice"},
			{[]string{"format", "-t", "x", "-c", filepath.Join(dir, "missing.properties")}, 1, "missing.properties"},
			{[]string{"nope"}, 2, "invalid choice: 'nope'"},
		} {
			r := run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || got != nil {
				t.Errorf("%v: exit %d, stderr %q, request %+v; want exit %d and %q", tc.args, r.code, r.stderr, got, tc.code, tc.msg)
			}
		}
	})

	t.Run("info", func(t *testing.T) {
		r := run("info", "-c", props)
		want := "Found log directories:\n\n" // neither data nor the metadata directory (the same) exists
		if r.code != 1 || !strings.HasPrefix(r.stdout, strings.TrimSuffix(want, "\n")) || !strings.Contains(r.stdout, "Found problem:\n  "+data+" does not exist\n") {
			t.Errorf("info before format: %+v", r)
		}
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		meta := "#\n#Written by samsa\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\ndirectory.id=KPKWc7_-RjWVBwNhJ1ax3w\nnode.id=3\nversion=1\n"
		if err := os.WriteFile(filepath.Join(data, "meta.properties"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
		want = "Found log directory:\n  " + data + "\n\n" +
			"Found metadata: {cluster.id=MkU3OEVBNTcwNTJENDM2Qg, directory.id=KPKWc7_-RjWVBwNhJ1ax3w, node.id=3, version=1}\n\n"
		if out := run("info", "-c", props).ok(t); out != want {
			t.Errorf("info printed\n%s\nwant\n%s", out, want)
		}
	})
}
