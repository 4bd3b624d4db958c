package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/internal/config"
)

func TestKafkaDumpLog(t *testing.T) {
	var got []config.DumpLogRequest
	run := func(args ...string) result {
		t.Helper()
		got = nil
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"kafka-dump-log.sh"}, args...), IO{Stdout: &out, Stderr: &errb},
			Node{DumpLog: func(req config.DumpLogRequest, w, ew io.Writer) error {
				got = append(got, req)
				if strings.HasSuffix(req.Path, "bad.log") {
					return errors.New("Found record size 3 smaller than minimum record overhead (14) in file bad.log.")
				}
				fmt.Fprintf(w, "Dumping %s\n", req.Path)
				return nil
			}})
		return result{code, out.String(), errb.String()}
	}

	t.Run("each file of --files is dumped in turn with Kafka's defaults", func(t *testing.T) {
		if out := run("--files", "a.log,b.index,").ok(t); out != "Dumping a.log\nDumping b.index\n" {
			t.Fatalf("stdout %q", out)
		}
		want := config.DumpLogRequest{Path: "a.log", MaxBytes: -1, MaxMessageSize: 5 << 20}
		if len(got) != 2 || got[0] != want || got[1].Path != "b.index" {
			t.Fatalf("requests %+v", got)
		}
	})
	t.Run("--print-data-log implies deep iteration", func(t *testing.T) {
		run("--files", "a.log", "--print-data-log", "--skip-record-metadata", "--max-bytes", "100").ok(t)
		if r := got[0]; !r.PrintData || !r.Deep || !r.SkipRecordMetadata || r.MaxBytes != 100 {
			t.Fatalf("request %+v", r)
		}
	})
	t.Run("Kafka's StringDecoder is accepted and prints data", func(t *testing.T) {
		run("--files", "a.log", "--value-decoder-class", stringDecoder).ok(t)
		if r := got[0]; !r.PrintData || !r.Deep {
			t.Fatalf("request %+v", r)
		}
	})
	t.Run("index flags are passed on", func(t *testing.T) {
		run("--files", "0.index", "--verify-index-only", "--index-sanity-check", "--max-message-size", "1024").ok(t)
		if r := got[0]; !r.VerifyIndexOnly || !r.IndexSanityCheck || r.MaxMessageSize != 1024 || r.Deep {
			t.Fatalf("request %+v", r)
		}
	})
	t.Run("--files is required, with Kafka's message", func(t *testing.T) {
		r := run("--print-data-log").wantCode(t, 2)
		if !strings.Contains(r.stderr, `Missing required argument "[files]"`) || got != nil {
			t.Fatalf("stderr %q, requests %+v", r.stderr, got)
		}
		run().wantCode(t, 2)
	})
	for _, flag := range []string{"--offsets-decoder", "--transaction-log-decoder", "--cluster-metadata-decoder", "--remote-log-metadata-decoder", "--share-group-state-decoder"} {
		t.Run(flag+" is refused", func(t *testing.T) {
			r := run("--files", "a.log", flag).wantCode(t, 1)
			if !strings.Contains(r.stderr, flag+": samsa does not decode") || got != nil {
				t.Fatalf("stderr %q, requests %+v", r.stderr, got)
			}
		})
	}
	t.Run("a decoder class of one's own is refused", func(t *testing.T) {
		r := run("--files", "a.log", "--key-decoder-class", "com.example.MyDecoder").wantCode(t, 1)
		if !strings.Contains(r.stderr, "samsa loads no Java decoder classes") || got != nil {
			t.Fatalf("stderr %q", r.stderr)
		}
	})
	t.Run("a bad --max-bytes is a usage error", func(t *testing.T) {
		run("--files", "a.log", "--max-bytes", "-1").wantCode(t, 2)
		run("--files", "a.log", "--max-bytes", "3000000000").wantCode(t, 2)
		run("--files", "a.log", "--max-bytes", "x").wantCode(t, 2)
	})
	t.Run("a failing file stops the dump with exit 1", func(t *testing.T) {
		r := run("--files", "a.log,bad.log,c.log").wantCode(t, 1)
		if len(got) != 2 || r.stdout != "Dumping a.log\n" || !strings.Contains(r.stderr, "kafka-dump-log.sh: Found record size 3") {
			t.Fatalf("requests %d, stdout %q, stderr %q", len(got), r.stdout, r.stderr)
		}
	})
	t.Run("a build without the hook says so", func(t *testing.T) {
		var errb bytes.Buffer
		code := Main(context.Background(), []string{"kafka-dump-log.sh", "--files", "a.log"}, IO{Stderr: &errb}, Node{})
		if code != 1 || !strings.Contains(errb.String(), "cannot read log segments") {
			t.Fatalf("code %d, stderr %q", code, errb.String())
		}
	})
}
