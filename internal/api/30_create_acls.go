package api

// CreateAcls, versions 0–3: every creation gets SECURITY_DISABLED, as in
// Kafka without an authorizer (see 29_describe_acls.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) createACLs(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.CreateACLsRequest)
	resp := kmsg.NewPtrCreateACLsResponse()
	for range req.Creations {
		r := kmsg.NewCreateACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = kerr.SecurityDisabled.Code, kmsg.StringPtr(noAuthorizer)
		resp.Results = append(resp.Results, r)
	}
	return c.respond(resp), nil
}
