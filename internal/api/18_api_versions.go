package api

// ApiVersions, versions 0–5.
//
// The supported ranges come from the handler table, so what is advertised is
// exactly what is served. A version newer than samsa knows gets Kafka's
// answer: UNSUPPORTED_VERSION in the v0 format with the supported ranges, so
// the client can retry with a version both sides know (KIP-511). v3+
// validates the client software name and version (INVALID_REQUEST when
// malformed, as Kafka does). v5 (KIP-1242): a client that names the cluster
// and node it believes it reached gets REBOOTSTRAP_REQUIRED when either does
// not match. No feature flags are advertised; clients then use their
// pre-feature behaviour.

import (
	"context"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

var softwareNameRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func (h *Handler) apiVersionsResponse() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	for _, d := range h.apis {
		if d == nil {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = d.key, d.min, d.max
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}

func (h *Handler) apiVersions(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ApiVersionsRequest)
	resp := *h.versions
	if c.Version >= 3 && (!softwareNameRE.MatchString(req.ClientSoftwareName) || !softwareNameRE.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	if c.Version >= 5 && (req.ClusterID != nil || req.NodeID >= 0) {
		switch {
		case req.ClusterID == nil || req.NodeID < 0:
			resp.ErrorCode = kerr.InvalidRequest.Code
		case *req.ClusterID != h.cfg.Metadata.Image().ClusterID() || req.NodeID != h.cfg.NodeID:
			resp.ErrorCode = kerr.RebootstrapRequired.Code
		}
	}
	return c.respond(&resp), nil
}

// unsupportedApiVersions answers an ApiVersions request of a version newer
// than samsa serves, in the v0 format every client can read.
func (h *Handler) unsupportedApiVersions(r *wire.Request) wire.Reply {
	resp := *h.versions
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	v0 := *r
	v0.Version = 0
	if h.cfg.Requests != nil {
		countErrors(h.cfg.Requests, r.Key, &resp)
	}
	return wire.Reply{Resp: encodeResponse(&v0, &resp)}
}
