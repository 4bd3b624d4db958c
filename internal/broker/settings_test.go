package broker_test

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// log.flush.offset.checkpoint.interval.ms=0 is valid, as in Kafka: the
// recovery points are checkpointed when the broker stops, and the data is
// there after a restart.
func TestZeroCheckpointInterval(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"log.flush.offset.checkpoint.interval.ms": "0"}))
	c.CreateTopic(t, "t", 1, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Client(t).ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c.Restart(0)
	cl := c.Client(t, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cl.PollRecords(ctx, 1)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Fatalf("after the restart: %v", recs)
	}
}

// socket.listen.backlog.size is the accept backlog of every listener, the
// controller's too, as in Kafka.
func TestListenBacklog(t *testing.T) {
	c := clustertest.StartN(t, 1, clustertest.WithProps(map[string]string{"socket.listen.backlog.size": "7"}))
	for _, addr := range append(c.Addrs(), c.ControllerAddrs()...) {
		if got := listenBacklog(t, addr); got != 7 {
			t.Errorf("listener %s has an accept backlog of %d, want 7", addr, got)
		}
	}
}

// listenBacklog finds the listening socket on addr among this process's
// files and reads its accept backlog: for a listening socket, Linux reports
// it in TCP_INFO's tcpi_sacked.
func listenBacklog(t *testing.T, addr string) uint32 {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if target, _ := os.Readlink("/proc/self/fd/" + e.Name()); !strings.HasPrefix(target, "socket:") {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		in4, ok := sa.(*syscall.SockaddrInet4)
		if err != nil || !ok || in4.Port != int(ap.Port()) || netip.AddrFrom4(in4.Addr) != ap.Addr() {
			continue
		}
		info, err := tcpInfo(fd)
		if err != nil {
			t.Fatalf("TCP_INFO of %s: %v", addr, err)
		}
		if info.State != 10 { // TCP_LISTEN; a connection's socket has the same local address
			continue
		}
		return info.Sacked
	}
	t.Fatalf("no listening socket on %s in this process", addr)
	return 0
}
