package broker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// answeredFrom reports whether the broker at addr answers an ApiVersions
// request on a connection from the local address from.
func answeredFrom(t *testing.T, addr, from string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return answersApiVersions(conn)
}

// answersApiVersions reports whether an ApiVersions v0 request sent on conn
// is answered within 10 s; conn closed by the broker is not.
func answersApiVersions(conn net.Conn) bool {
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := binary.BigEndian.AppendUint32(nil, 10)
	req = binary.BigEndian.AppendUint16(req, 18) // ApiVersions
	req = binary.BigEndian.AppendUint16(req, 0)
	req = binary.BigEndian.AppendUint32(req, 7)
	req = binary.BigEndian.AppendUint16(req, 0xffff) // no client id
	if _, err := conn.Write(req); err != nil {
		return false
	}
	var hdr [8]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return false // closed, or not answered within the deadline
	}
	return binary.BigEndian.Uint32(hdr[4:]) == 7
}

// Connection limits change with kafka-configs.sh, cluster-wide and for one
// broker, and the broker applies them to new connections at once.
func TestConnectionLimitsFollowDynamicConfigs(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"metrics.listener": "127.0.0.1:0"}))
	addr := c.Addrs()[0]
	adm := c.Admin(t)
	alter := func(broker int32, value *string) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		op := kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.connections.per.ip.overrides", Value: value}
		if value == nil {
			op.Op = kadm.DeleteConfig
		}
		var resps kadm.AlterConfigsResponses
		var err error
		if broker < 0 {
			resps, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{op})
		} else {
			resps, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{op}, broker)
		}
		if err == nil {
			err = resps[0].Err
		}
		return err
	}
	waitAnswered := func(from string, want bool) {
		t.Helper()
		clustertest.WaitFor(t, "connections from "+from+" answered: "+map[bool]string{true: "yes", false: "no"}[want], 10*time.Second,
			func() (bool, string) { return answeredFrom(t, addr, from) == want, "" })
	}

	if !answeredFrom(t, addr, "127.0.0.2") {
		t.Fatal("no limits yet, but a connection from 127.0.0.2 was closed")
	}
	if err := alter(-1, kadm.StringPtr("127.0.0.2:0")); err != nil {
		t.Fatal(err)
	}
	waitAnswered("127.0.0.2", false)
	refusedCounted(t, c, "max_connections_per_ip", "connection_creation_rate")
	if !answeredFrom(t, addr, "127.0.0.1") {
		t.Fatal("127.0.0.1 has no override, but its connection was closed")
	}
	// This broker's own value wins over the cluster-wide one.
	if err := alter(1, kadm.StringPtr("127.0.0.2:5")); err != nil {
		t.Fatal(err)
	}
	waitAnswered("127.0.0.2", true)
	if err := alter(1, nil); err != nil {
		t.Fatal(err)
	}
	waitAnswered("127.0.0.2", false)

	if err := alter(-1, kadm.StringPtr("127.0.0.2")); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("an override without a count: %v, want INVALID_CONFIG", err)
	}
}

// An address's connection_creation_rate (an ip entity's quota, KIP-612)
// refuses its new connections once it is over, and only its: a rate of 0
// refuses them all; the <default> ip's applies to addresses without their
// own; removing the quotas lets them in again.
func TestConnectionCreationRateQuota(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithProps(map[string]string{"metrics.listener": "127.0.0.1:0"}))
	addr := c.Addrs()[0]
	adm := c.Admin(t)
	alter := func(ip *string, rate float64, remove bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resps, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
			Entity: []kadm.ClientQuotaEntityComponent{{Type: "ip", Name: ip}},
			Ops:    []kadm.AlterClientQuotaOp{{Key: "connection_creation_rate", Value: rate, Remove: remove}},
		}})
		if err == nil {
			err = resps[0].Err
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	waitAnswered := func(from string, want bool) {
		t.Helper()
		clustertest.WaitFor(t, "connections from "+from+" answered: "+map[bool]string{true: "yes", false: "no"}[want], 10*time.Second,
			func() (bool, string) { return answeredFrom(t, addr, from) == want, "" })
	}
	refused := "127.0.0.3"
	alter(&refused, 0, false)
	waitAnswered(refused, false)
	refusedCounted(t, c, "connection_creation_rate", "max_connections_per_ip")
	if !answeredFrom(t, addr, "127.0.0.4") {
		t.Fatal("127.0.0.4 has no quota, but its connection was refused")
	}
	alter(nil, 0, false) // <default>: every other address
	waitAnswered("127.0.0.4", false)
	alter(nil, 0, true)
	alter(&refused, 0, true)
	waitAnswered(refused, true)
	waitAnswered("127.0.0.4", true)
}

// refusedCounted fails unless the broker counted connections refused for
// reason, and none for other.
func refusedCounted(t *testing.T, c *clustertest.Cluster, reason, other string) {
	t.Helper()
	m := scrape(t, c.Broker(0))
	series := func(r string) string {
		return `samsa_connections_refused_total{listener="PLAINTEXT",reason="` + r + `"}`
	}
	if m[series(reason)] < 1 || m[series(other)] != 0 {
		t.Errorf("%s = %v and %s = %v, want at least 1 and 0", series(reason), m[series(reason)], series(other), m[series(other)])
	}
}
