package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// The seed documents' init script (/etc/init.d/kafka): `start` runs
// kafka-server-start.sh -daemon with the properties file and returns, `stop`
// runs kafka-server-stop.sh. Here the broker is told apart from the other
// tests' brokers on this machine by a node id of its own, which
// kafka-server-stop.sh --node-id (KIP-979) selects.
func TestServiceScriptDaemonStartStop(t *testing.T) {
	tools := kafkaTools(t)
	dir := t.TempDir()
	logDir, dataDir := filepath.Join(dir, "logs"), filepath.Join(dir, "data")
	nodeID := 40000 + rand.IntN(20000)
	addr := fmt.Sprintf("127.0.0.1:%d", clustertest.FreePort(t))
	ctrl := fmt.Sprintf("127.0.0.1:%d", clustertest.FreePort(t))
	props := filepath.Join(dir, "server.properties")
	writeFile(t, props, fmt.Sprintf("node.id=%d\nprocess.roles=broker,controller\nlisteners=PLAINTEXT://%s,CONTROLLER://%s\n"+
		"controller.quorum.voters=%d@%s\nlog.dirs=%s\n", nodeID, addr, ctrl, nodeID, ctrl, dataDir))
	env := append(brokerEnv(), "LOG_DIR="+logDir)
	stop := func(args ...string) toolResult {
		t.Helper()
		return runToolEnv(t, 30*time.Second, env, "", filepath.Join(tools, "kafka-server-stop.sh"), args...)
	}
	t.Cleanup(func() {
		// Whatever happened, leave no broker behind.
		runToolEnv(t, 30*time.Second, append(env, "SIGNAL=KILL"), "", filepath.Join(tools, "kafka-server-stop.sh"), fmt.Sprintf("--node-id=%d", nodeID))
	})

	r := runToolEnv(t, 30*time.Second, env, "", filepath.Join(tools, "kafka-server-start.sh"), "-daemon", props)
	if r.Err != nil || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("kafka-server-start.sh -daemon: want exit 0 and no output, got %s", r)
	}
	// It returned at once; the broker comes up in the background.
	waitUntil(t, 30*time.Second, "the daemon serves metadata", func() error { return pingBroker(addr) })
	out := filepath.Join(logDir, "kafkaServer.out")
	waitUntil(t, 10*time.Second, "kafkaServer.out has the server's log", func() error {
		b, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(b), "samsa is ready") {
			return fmt.Errorf("%s: %v\n%s", out, err, b)
		}
		return nil
	})

	if r := stop(fmt.Sprintf("--node-id=%d", nodeID+1)); r.ExitCode() != 1 || r.Stdout != "No kafka server to stop\n" {
		t.Errorf("kafka-server-stop.sh for a node that is not running: want exit 1 and Kafka's message, got %s", r)
	}
	if !pingOK(addr) {
		t.Fatal("stopping another node id stopped this one")
	}
	if r := stop(fmt.Sprintf("--node-id=%d", nodeID)); r.Err != nil {
		t.Fatalf("kafka-server-stop.sh --node-id=%d: %s", nodeID, r)
	}
	// SIGTERM is a clean stop: the log directory is marked so the next
	// start skips recovery.
	waitUntil(t, 60*time.Second, "the daemon stops cleanly", func() error {
		if _, err := os.Stat(filepath.Join(dataDir, ".kafka_cleanshutdown")); err != nil {
			return err
		}
		if pingOK(addr) {
			return fmt.Errorf("%s still answers", addr)
		}
		return nil
	})
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "shutting down") {
		t.Errorf("kafkaServer.out does not show a shutdown:\n%s", b)
	}
}

func pingOK(addr string) bool { return pingBroker(addr) == nil }
