package api

import (
	"net"

	"github.com/samsa-io/samsa/internal/group"
)

// groupClient describes the client of a group request the way Kafka shows
// members in DescribeGroups: its client id, and its address as "/ip".
func groupClient(c *call) group.Client {
	host := c.Conn.Remote.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return group.Client{ID: c.ClientID, Host: "/" + host}
}
