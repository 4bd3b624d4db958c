package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listener is one entry of listeners or advertised.listeners.
type Listener struct {
	Name             string // upper-cased as Kafka normalises it: PLAINTEXT, CONTROLLER, ...
	Host             string // "" means every interface; an IPv6 address has no brackets
	Port             int    // 0 asks the OS for a free port (tests only)
	SecurityProtocol string // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
}

// Addr is host:port for net.Listen and net.Dial ("[::1]:9092" for IPv6).
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// String prints the listener as it is written in server.properties.
func (l Listener) String() string { return l.Name + "://" + l.Addr() }

// Voter is one member of controller.quorum.voters.
type Voter struct {
	ID   int32
	Host string // an IPv6 address has no brackets
	Port int
}

// Addr is host:port of the voter's controller listener.
func (v Voter) Addr() string { return net.JoinHostPort(v.Host, strconv.Itoa(v.Port)) }

func (v Voter) String() string { return strconv.Itoa(int(v.ID)) + "@" + v.Addr() }

// HostPort is one entry of controller.quorum.bootstrap.servers.
type HostPort struct {
	Host string
	Port int
}

// Addr is host:port for net.Dial.
func (h HostPort) Addr() string { return net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) }

// ParseListeners parses a listeners-style value (NAME://host:port,...),
// giving each listener its protocol from protocolMap (listener name ->
// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL). Names are upper-cased.
func ParseListeners(value string, protocolMap map[string]string) ([]Listener, error) {
	return parseListenerList("listeners", value, protocolMap)
}

// ParseVoters parses a controller.quorum.voters value (id@host:port,...).
func ParseVoters(value string) ([]Voter, error) {
	vs, err := parseVoters(nonEmpty(splitList(value)))
	if err != nil {
		return nil, invalid("controller.quorum.voters", value, err.Error())
	}
	return vs, nil
}

// parseEndpoint splits NAME://host:port, as Kafka's endpoint pattern does:
// the host may be empty or a bracketed IPv6 address.
func parseEndpoint(s string) (Listener, error) {
	name, rest, ok := strings.Cut(s, "://")
	if !ok || name == "" {
		return Listener{}, fmt.Errorf("unable to parse %q as NAME://host:port", s)
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return Listener{}, fmt.Errorf("unable to parse %q as NAME://host:port: %v", s, err)
	}
	return Listener{Name: strings.ToUpper(name), Host: host, Port: port}, nil
}

// splitHostPort accepts host:port, :port and [v6]:port, with Kafka's set
// of host characters.
func splitHostPort(s string) (host string, port int, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("missing port")
	}
	host, ps := s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", 0, fmt.Errorf("unbalanced [ in host")
		}
		host = host[1 : len(host)-1]
	}
	for _, c := range host {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("-%._:", c)) {
			return "", 0, fmt.Errorf("invalid character %q in host", c)
		}
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", ps)
	}
	return host, port, nil
}

// parseListenerList parses a listeners-style value; protocols assigns each
// listener its security protocol and must cover every name.
func parseListenerList(key, value string, protocols map[string]string) ([]Listener, error) {
	var out []Listener
	for _, entry := range splitList(value) {
		if entry == "" {
			continue
		}
		l, err := parseEndpoint(entry)
		if err != nil {
			return nil, invalid(key, value, err.Error())
		}
		p, ok := protocols[l.Name]
		if !ok {
			return nil, conflict(fmt.Sprintf("%s: no security protocol for listener %s; add %s:<protocol> to listener.security.protocol.map",
				key, l.Name, l.Name), key, "listener.security.protocol.map")
		}
		l.SecurityProtocol = p
		out = append(out, l)
	}
	return out, nil
}

// parseProtocolMap parses listener.security.protocol.map (NAME:PROTOCOL,...).
func parseProtocolMap(value string) (map[string]string, error) {
	const key = "listener.security.protocol.map"
	m := make(map[string]string)
	for _, entry := range splitList(value) {
		if entry == "" {
			continue
		}
		name, proto, ok := strings.Cut(entry, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || name == "" {
			return nil, invalid(key, value, "each entry must be NAME:PROTOCOL")
		}
		if securityProtocols.check(proto) != "" {
			return nil, invalid(key, value, "Invalid security protocol `"+proto+"` for listener "+name)
		}
		m[name] = proto
	}
	return m, nil
}

// parseVoters parses controller.quorum.voters (id@host:port,...).
func parseVoters(entries []string) ([]Voter, error) {
	var out []Voter
	seen := make(map[int32]bool)
	for _, e := range entries {
		idStr, addr, ok := strings.Cut(e, "@")
		if !ok || strings.Contains(addr, "@") {
			return nil, fmt.Errorf("entry %q is not of the form {id}@{host}:{port}", e)
		}
		id, err := strconv.ParseInt(strings.TrimSpace(idStr), 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("entry %q: the node id must be a non-negative integer", e)
		}
		host, port, err := splitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("entry %q: failed to parse host and port (%v); use {id}@{host}:{port}", e, err)
		}
		if host == "0.0.0.0" {
			return nil, fmt.Errorf("entry %q: host 0.0.0.0 is not routable", e)
		}
		if seen[int32(id)] {
			return nil, fmt.Errorf("node id %d appears twice", id)
		}
		seen[int32(id)] = true
		out = append(out, Voter{ID: int32(id), Host: host, Port: port})
	}
	return out, nil
}

func checkVoters(v any) string {
	if _, err := parseVoters(v.([]string)); err != nil {
		return err.Error()
	}
	return ""
}

// parseHostPorts parses controller.quorum.bootstrap.servers (host:port,...).
func parseHostPorts(entries []string) ([]HostPort, error) {
	var out []HostPort
	for _, e := range entries {
		host, port, err := splitHostPort(e)
		if err != nil || host == "" {
			return nil, fmt.Errorf("entry %q: failed to parse host and port; use {host}:{port}", e)
		}
		out = append(out, HostPort{Host: host, Port: port})
	}
	return out, nil
}

func checkBootstrapServers(v any) string {
	if _, err := parseHostPorts(v.([]string)); err != nil {
		return err.Error()
	}
	return ""
}
