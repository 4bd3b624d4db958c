package api

// DescribeAcls, versions 0–3.
//
// samsa has no authorizer yet (and refuses authorizer.class.name at
// startup), so the ACL APIs answer as Kafka does when no authorizer is
// configured: SECURITY_DISABLED, "No Authorizer is configured.", which the
// Java client raises as SecurityDisabledException and admin tools and UIs
// take to mean ACLs are off.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

// noAuthorizer is Kafka's message for the ACL APIs without an authorizer.
const noAuthorizer = "No Authorizer is configured."

func (h *Handler) describeACLs(_ context.Context, c *call) (wire.Reply, error) {
	resp := kmsg.NewPtrDescribeACLsResponse()
	resp.ErrorCode, resp.ErrorMessage = kerr.SecurityDisabled.Code, kmsg.StringPtr(noAuthorizer)
	return c.respond(resp), nil
}
