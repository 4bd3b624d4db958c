package api

// DescribeClientQuotas, versions 0–1 (KIP-546).
//
// samsa does not enforce client quotas yet, and AlterClientQuotas is not
// served (clients report that the broker does not support it), so there
// are never quotas to describe: the answer is an empty list, after the
// filter is checked as Kafka's ClientQuotasImage checks it. Admin UIs and
// kafka-configs.sh --describe --entity-type users|clients|ips send this.

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeClientQuotas(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeClientQuotasRequest)
	resp := kmsg.NewPtrDescribeClientQuotasResponse()
	if err, msg := checkQuotaFilter(req.Components); err != nil {
		resp.ErrorCode, resp.ErrorMessage = err.Code, &msg
		return c.respond(resp), nil
	}
	resp.Entries = []kmsg.DescribeClientQuotasResponseEntry{}
	return c.respond(resp), nil
}

// checkQuotaFilter validates a DescribeClientQuotas filter: each entity
// type (user, client-id or ip) at most once, a match string exactly when
// the match type is EXACT, and no ip component beside user or client-id.
func checkQuotaFilter(components []kmsg.DescribeClientQuotasRequestComponent) (*kerr.Error, string) {
	var seen []string
	for _, comp := range components {
		typ := comp.EntityType
		switch {
		case typ == "":
			return kerr.InvalidRequest, "Invalid empty entity type."
		case slices.Contains(seen, typ):
			return kerr.InvalidRequest, fmt.Sprintf("Entity type %s cannot appear more than once in the filter.", typ)
		case typ != "user" && typ != "client-id" && typ != "ip":
			return kerr.UnsupportedVersion, "Unsupported entity type " + typ
		}
		seen = append(seen, typ)
		switch comp.MatchType {
		case kmsg.QuotasMatchTypeExact:
			if comp.Match == nil {
				return kerr.InvalidRequest, "Request specified MATCH_TYPE_EXACT, but set match string to null."
			}
		case kmsg.QuotasMatchTypeDefault, kmsg.QuotasMatchTypeAny:
			if comp.Match != nil {
				return kerr.InvalidRequest, fmt.Sprintf("Request specified %s, but also specified a match string.", quotaMatchName(comp.MatchType))
			}
		default:
			return kerr.InvalidRequest, fmt.Sprintf("Unknown match type %d", comp.MatchType)
		}
	}
	if slices.Contains(seen, "ip") && (slices.Contains(seen, "user") || slices.Contains(seen, "client-id")) {
		return kerr.InvalidRequest, "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."
	}
	return nil, ""
}

func quotaMatchName(t kmsg.QuotasMatchType) string {
	if t == kmsg.QuotasMatchTypeDefault {
		return "MATCH_TYPE_DEFAULT"
	}
	return "MATCH_TYPE_SPECIFIED"
}
