package kfakeserver

import (
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestServe(t *testing.T) {
	addr := os.Getenv("SAMSA_KFAKE_ADDR")
	if addr == "" {
		t.Skip("set SAMSA_KFAKE_ADDR=host:port to run kfake as a benchmark baseline")
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.ListenFn(func(network, a string) (net.Listener, error) {
		_, p, _ := net.SplitHostPort(a)
		return net.Listen(network, net.JoinHostPort(host, p))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("kfake listening on %v", c.ListenAddrs())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
