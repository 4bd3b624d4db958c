package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/auth"
	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metrics"
	"github.com/samsa-io/samsa/internal/quorum"
	"github.com/samsa-io/samsa/internal/server"
)

// The node's sockets. Client listeners serve the Kafka protocol. The
// controller listener (controller role) carries the metadata quorum's raft
// traffic and, from the same port, the Kafka-protocol requests brokers
// forward to the active controller. A broker-only node takes raft traffic on
// its inter-broker listener, where the quorum's leader reaches it as a
// learner. Everything is bound in New, before the quorum opens, so ports
// picked by the system are known; nothing is served until Start.

// bind binds every listener of the node, and prepares the TLS of the
// connections it opens to other nodes.
func (b *Broker) bind() error {
	if err := b.setPeerTLS(nil); err != nil {
		return err
	}
	if err := b.bindMetrics(); err != nil {
		return err
	}
	n := b.cfg.Network
	serverCfg := func(ls []server.Listener, component, protected string, requests *metrics.Requests) server.Config {
		limits := b.serverLimits(config.Dynamic{}, protected)
		return server.Config{
			Listeners:         ls,
			MaxRequestBytes:   n.SocketRequestMaxBytes,
			IdleTimeout:       config.Millis(n.ConnectionsMaxIdleMs),
			RequestTimeout:    config.Millis(int64(n.RequestTimeoutMs)),
			QueuedMaxRequests: int(n.QueuedMaxRequests),
			QueuedMaxBytes:    n.QueuedMaxRequestBytes,
			Limits:            &limits,
			FailedAuthDelay:   config.Millis(int64(b.cfg.Security.FailedAuthenticationDelayMs)),
			SendBuffer:        int(n.SocketSendBufferBytes),
			ReceiveBuffer:     int(n.SocketReceiveBufferBytes),
			Logger:            b.log.With("component", component),
			Completed:         completed(requests),
		}
	}
	var requests, ctrlReqs *metrics.Requests
	if b.metrics != nil {
		requests, ctrlReqs = b.metrics.requests, b.metrics.ctrlReqs
	}
	learner := !b.isVoter()
	var clientLns []server.Listener
	for _, l := range b.cfg.BrokerListeners() {
		ln, err := listen(l.Addr(), n.SocketListenBacklogSize)
		if err != nil {
			return fmt.Errorf("listen %s on %s: %w", l.Name, l.Addr(), err)
		}
		sl, err := b.serverListener(l)
		if err != nil {
			ln.Close()
			return err
		}
		sl.Ln = ln
		if learner && strings.EqualFold(l.Name, b.cfg.InterBrokerListenerName) {
			m := b.newMux(ln, sl.TLS, l.Name)
			b.muxes = append(b.muxes, m)
			b.raftLn, sl.Ln = m.raft, m.kafka
			b.raftAddr = l.Addr()
			sl.TLS = nil // the mux runs the handshake
		}
		clientLns = append(clientLns, sl)
	}
	clientCfg := serverCfg(clientLns, "server", b.protectedListener(), requests)
	// Connection quotas (connection_creation_rate of ip entities) apply
	// to every listener of this server, the inter-broker one too, as in
	// Kafka; b.quotas exists before anything is served.
	clientCfg.ConnectionThrottle = func(ip string, now time.Time) time.Duration { return b.quotas.RecordConnection(ip, now) }
	b.server = server.New(clientCfg)
	if err := b.server.Listen(); err != nil {
		return err
	}
	if !b.cfg.HasRole("controller") {
		return nil
	}
	for _, l := range b.cfg.ControllerListeners() {
		sl, err := b.serverListener(l)
		if err != nil {
			return err
		}
		ln, err := listen(l.Addr(), n.SocketListenBacklogSize)
		if err != nil {
			return fmt.Errorf("listen %s on %s: %w", l.Name, l.Addr(), err)
		}
		m := b.newMux(ln, sl.TLS, l.Name)
		b.muxes = append(b.muxes, m)
		b.raftLn, b.raftAddr = m.raft, l.Addr()
		sl.Ln, sl.TLS = m.kafka, nil // the mux runs the handshake
		b.ctrlServer = server.New(serverCfg([]server.Listener{sl}, "controller-server", "", ctrlReqs))
		if err := b.ctrlServer.Listen(); err != nil {
			return err
		}
		break // one controller listener carries the quorum
	}
	return nil
}

// listen binds addr with an accept backlog of socket.listen.backlog.size
// connections, as Kafka's listeners have. Go listens with the system's
// largest; listen(2) on the bound socket again sets the one asked for (which
// Linux caps at net.core.somaxconn).
func listen(addr string, backlog int32) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err == nil {
		var lerr error
		if err = rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), int(backlog)) }); err == nil {
			err = lerr
		}
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("accept backlog %d: %w", backlog, err)
	}
	return ln, nil
}

// serverListener is how listener l is served: on an SSL listener, its TLS
// and the mapping of client certificates to user names.
func (b *Broker) serverListener(l config.Listener) (server.Listener, error) {
	sl := server.Listener{Name: l.Name, Addr: l.Addr()}
	if l.SecurityProtocol != "SSL" {
		return sl, nil
	}
	cfg, err := auth.ServerTLS(b.cfg, l.Name)
	if err != nil {
		return sl, err
	}
	r := auth.NewReloadable(cfg)
	if b.tlsListeners == nil {
		b.tlsListeners = map[string]*auth.Reloadable{}
	}
	b.tlsListeners[l.Name] = r
	sl.TLS = r.Config()
	names, err := auth.PrincipalRules(b.cfg, l.Name)
	if err != nil {
		return sl, fmt.Errorf("listener %s (SSL): %w", l.Name, err)
	}
	sl.Principal = names.Name
	return sl, nil
}

// newMux shares ln between raft and the Kafka protocol, behind TLS when
// tlsCfg is set.
func (b *Broker) newMux(ln net.Listener, tlsCfg *tls.Config, listener string) *mux {
	return newMux(ln, tlsCfg, b.raftPeer, b.log.With("listener", listener))
}

// setPeerTLS sets up the TLS of this node's connections to other nodes,
// with dynamic as this broker's dynamic configs.
func (b *Broker) setPeerTLS(dynamic map[string]string) error {
	inter, err := peerTLS(b.cfg, dynamic, b.cfg.InterBrokerListenerName)
	if err != nil {
		return err
	}
	ctrl, err := peerTLS(b.cfg, dynamic, controllerListenerName(b.cfg))
	if err != nil {
		return err
	}
	b.interTLS.Store(inter)
	b.ctrlTLS.Store(ctrl)
	return nil
}

// peerTLS is the TLS configuration of this node's connections to listener
// on other nodes, which is named alike on every node, with dynamic as this
// broker's dynamic configs; nil when that listener is PLAINTEXT.
func peerTLS(cfg *config.Broker, dynamic map[string]string, listener string) (*tls.Config, error) {
	switch p := cfg.SecurityProtocolMap[listener]; p {
	case "SSL":
		return auth.ClientTLSWith(cfg, dynamic, listener)
	case "PLAINTEXT", "":
		return nil, nil
	default:
		return nil, fmt.Errorf("listener %s uses %s, which samsa cannot connect with (no SASL yet)", listener, p)
	}
}

// controllerListenerName is the listener controllers serve the quorum on.
func controllerListenerName(cfg *config.Broker) string {
	if len(cfg.ControllerListenerNames) == 0 {
		return ""
	}
	return cfg.ControllerListenerNames[0]
}

// transport returns the quorum's network transport.
func (b *Broker) transport() (quorum.Transport, error) {
	if b.raftLn == nil {
		return nil, fmt.Errorf("node %d has no listener for the metadata quorum (a controller listener, or for a broker-only node its inter-broker listener %s)", b.cfg.NodeID, b.cfg.InterBrokerListenerName)
	}
	t, err := quorum.NewTCPTransport(quorum.TCPConfig{
		NodeID:     uint64(b.cfg.NodeID),
		ListenAddr: b.raftAddr,
		Listener:   b.raftLn,
		// Raft reaches voters on their controller listener and learners
		// on their inter-broker listener.
		PeerTLS: func(peer uint64) *tls.Config {
			if slices.ContainsFunc(b.cfg.Quorum.Voters, func(v config.Voter) bool { return uint64(v.ID) == peer }) {
				return b.ctrlTLS.Load()
			}
			return b.interTLS.Load()
		},
		Logger: b.base.With("component", "quorum"),
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// serveController starts answering on the controller listener.
func (b *Broker) serveController() {
	if b.ctrlServer == nil {
		return
	}
	cfg := api.Config{
		NodeID:             b.cfg.NodeID,
		Broker:             b.cfg,
		Metadata:           b.meta,
		Logger:             b.log.With("component", "controller-api"),
		ControllerID:       b.activeControllerID,
		ControllerListener: true,
		LocalController:    b.controller,
		ControllerActive:   b.isActiveController,
	}
	if b.metrics != nil {
		cfg.Requests = b.metrics.ctrlReqs
	}
	b.ctrlServer.Serve(api.New(cfg))
}

func (b *Broker) isVoter() bool {
	return slices.ContainsFunc(b.cfg.Quorum.Voters, func(v config.Voter) bool { return v.ID == b.cfg.NodeID })
}

// isActiveController reports whether this node's controller is the active
// one: it leads the metadata quorum.
func (b *Broker) isActiveController() bool {
	id, _ := b.quorum.Leader()
	return b.isVoter() && id == uint64(b.cfg.NodeID)
}

// activeControllerID is the node id of the quorum's leader, -1 if unknown.
func (b *Broker) activeControllerID() int32 {
	id, _ := b.quorum.Leader()
	if id == 0 {
		return -1
	}
	return int32(id)
}

// controllerAddr is the controller listener address of the active
// controller.
func (b *Broker) controllerAddr() (string, bool) {
	id := b.activeControllerID()
	for _, v := range b.cfg.Quorum.Voters {
		if v.ID == id {
			return v.Addr(), true
		}
	}
	if b.isVoter() || len(b.cfg.Quorum.Voters) == 0 {
		return "", false // a voter learns the leader from the quorum itself
	}
	// A broker-only node that does not follow the quorum yet (it joins as a
	// learner when it registers) asks the voters in turn; one that is not
	// the active controller answers NOT_CONTROLLER and the client moves on.
	n := b.voterTurn.Add(1)
	return b.cfg.Quorum.Voters[int(n)%len(b.cfg.Quorum.Voters)].Addr(), true
}

// raftPeer reports whether a connection from ip may speak raft: it must come
// from a voter's configured host or from a registered broker's endpoint
// (learners).
func (b *Broker) raftPeer(ip net.IP) bool {
	hosts := map[string]bool{}
	for _, v := range b.cfg.Quorum.Voters {
		hosts[v.Host] = true
	}
	if b.meta != nil {
		for _, br := range b.meta.Image().Brokers() {
			for _, e := range br.Endpoints {
				hosts[e.Host] = true
			}
		}
	}
	for h := range hosts {
		if hip := net.ParseIP(h); hip != nil {
			if hip.Equal(ip) || (hip.IsUnspecified() && ip.IsLoopback()) {
				return true
			}
			continue
		}
		ips, err := net.DefaultResolver.LookupIP(context.Background(), "ip", h)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(ips, ip.Equal) {
			return true
		}
	}
	return false
}

// localIP is the address outgoing connections bind to: the host of the
// node's first listener when it names a specific IP (tests run nodes on
// 127.0.0.x, and address-based network faults need each node's traffic to
// leave from its own address).
func (b *Broker) localIP() net.IP {
	for _, l := range b.cfg.Listeners {
		if ip := net.ParseIP(l.Host); ip != nil && !ip.IsUnspecified() {
			return ip
		}
	}
	return nil
}

// closeNetwork closes the muxes (their sockets) after the servers stopped.
func (b *Broker) closeNetwork() {
	for _, m := range b.muxes {
		m.close()
	}
	if b.client != nil {
		b.client.Close()
	}
}
