package api

// DescribeClientQuotas, versions 0–1 (KIP-546).
//
// The quotas AlterClientQuotas set, from this broker's metadata image,
// filtered as Kafka's ClientQuotasImage filters them: each component
// matches a part of the entity by exact name, as <default>, or any; with
// strict set an entity may have no part the filter does not name. Admin UIs
// and kafka-configs.sh --describe --entity-type users|clients|ips send
// this.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
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
	quotas := h.cfg.Metadata.Image().ClientQuotas()
	entities := slices.SortedFunc(maps.Keys(quotas), func(a, b metadata.QuotaEntity) int {
		return strings.Compare(quotaEntityString(a), quotaEntityString(b))
	})
	for _, e := range entities {
		if !quotaFilterMatches(req.Components, req.Strict, e) {
			continue
		}
		out := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, part := range []struct {
			typ  string
			name metadata.QuotaName
		}{{"user", e.User}, {"client-id", e.ClientID}, {"ip", e.IP}} {
			if !part.name.Set {
				continue
			}
			oe := kmsg.NewDescribeClientQuotasResponseEntryEntity()
			oe.Type = part.typ
			if !part.name.Default {
				oe.Name = kmsg.StringPtr(part.name.Name)
			}
			out.Entity = append(out.Entity, oe)
		}
		for _, k := range slices.Sorted(maps.Keys(quotas[e])) {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = k, quotas[e][k]
			out.Values = append(out.Values, v)
		}
		resp.Entries = append(resp.Entries, out)
	}
	return c.respond(resp), nil
}

// quotaFilterMatches applies a checked filter to an entity.
func quotaFilterMatches(components []kmsg.DescribeClientQuotasRequestComponent, strict bool, e metadata.QuotaEntity) bool {
	parts := map[string]metadata.QuotaName{"user": e.User, "client-id": e.ClientID, "ip": e.IP}
	named := map[string]bool{}
	for _, comp := range components {
		named[comp.EntityType] = true
		part := parts[comp.EntityType]
		switch comp.MatchType {
		case kmsg.QuotasMatchTypeExact:
			if !part.Set || part.Default || part.Name != *comp.Match {
				return false
			}
		case kmsg.QuotasMatchTypeDefault:
			if !part.Default {
				return false
			}
		default: // any
			if !part.Set {
				return false
			}
		}
	}
	if strict {
		for typ, part := range parts {
			if part.Set && !named[typ] {
				return false
			}
		}
	}
	return true
}

// quotaEntityString orders entities in answers: user=..., client-id=...,
// then ips.
func quotaEntityString(e metadata.QuotaEntity) string {
	s := ""
	for _, part := range []metadata.QuotaName{e.IP, e.User, e.ClientID} {
		switch {
		case !part.Set:
			s += "\x00"
		case part.Default:
			s += "\x01"
		default:
			s += "\x02" + part.Name
		}
		s += "\x00"
	}
	return s
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
