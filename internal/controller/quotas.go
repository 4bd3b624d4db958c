package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metadata"
)

// Client quotas (KIP-546): AlterClientQuotas sets and removes the quotas
// of users, client ids and users' client ids, each a name or <default>, and
// the connection quotas of ip addresses (KIP-612), as ClientQuotaRecords.
// Brokers enforce them (package auth). samsa enforces the byte rates and
// connection_creation_rate, so only those can be set: request_percentage
// and controller_mutation_rate are refused rather than stored and ignored.

// quotaKeys are the client quota keys samsa accepts, all enforced.
var quotaKeys = []string{"producer_byte_rate", "consumer_byte_rate"}

// ipQuotaKey is the one quota of an ip entity.
const ipQuotaKey = "connection_creation_rate"

// notEnforced are Kafka's other quota keys, refused with a reason.
var notEnforced = map[string]bool{"request_percentage": true, "controller_mutation_rate": true}

// AlterClientQuotas validates every entry and commits the valid ones; each
// entry's changes apply together or not at all.
func (c *Controller) AlterClientQuotas(ctx context.Context, req *kmsg.AlterClientQuotasRequest) (*kmsg.AlterClientQuotasResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrAlterClientQuotasResponse()
	resp.Version = req.Version
	var recs []metadata.Record
	seen := map[metadata.QuotaEntity]bool{}
	for _, e := range req.Entries {
		out := QuotaResponseEntry(e)
		erecs, err := quotaRecords(e)
		if entity, perr := quotaEntity(e.Entity); perr == nil {
			// One entity twice: the first entry stands, as in Kafka, and
			// the repeat is refused.
			if seen[entity] {
				err = kerrf(kerr.InvalidRequest, "Ignoring duplicate entity %s", entityString(e.Entity))
			}
			seen[entity] = true
		}
		if err != nil {
			setKerr(&out.ErrorCode, &out.ErrorMessage, err)
		} else if !req.ValidateOnly {
			recs = append(recs, erecs...)
		}
		resp.Entries = append(resp.Entries, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Entries {
			if resp.Entries[i].ErrorCode == 0 {
				setErr(&resp.Entries[i].ErrorCode, &resp.Entries[i].ErrorMessage, kerr.RequestTimedOut, err.Error())
			}
		}
	}
	return resp, nil
}

// QuotaResponseEntry is the answer to one AlterClientQuotas entry, naming
// its entity, without an error yet.
func QuotaResponseEntry(e kmsg.AlterClientQuotasRequestEntry) kmsg.AlterClientQuotasResponseEntry {
	out := kmsg.NewAlterClientQuotasResponseEntry()
	for _, part := range e.Entity {
		oe := kmsg.NewAlterClientQuotasResponseEntryEntity()
		oe.Type, oe.Name = part.Type, part.Name
		out.Entity = append(out.Entity, oe)
	}
	return out
}

// quotaRecords checks one entry as Kafka's ClientQuotaControlManager does
// and returns its records.
func quotaRecords(e kmsg.AlterClientQuotasRequestEntry) ([]metadata.Record, error) {
	entity, err := quotaEntity(e.Entity)
	if err != nil {
		return nil, err
	}
	if entity.IP.Set {
		return ipQuotaRecords(entity, e.Ops)
	}
	var recs []metadata.Record
	seen := map[string]bool{}
	for _, op := range e.Ops {
		switch {
		case op.Key == ipQuotaKey:
			return nil, kerrf(kerr.InvalidRequest, "Invalid configuration key %s: only ip entities have it", op.Key)
		case seen[op.Key]:
			return nil, kerrf(kerr.InvalidRequest, "Duplicate quota key %s not updating quota for this entity", op.Key)
		case notEnforced[op.Key] && op.Remove:
			seen[op.Key] = true
			continue // never set, so there is nothing to remove
		case notEnforced[op.Key]:
			return nil, kerrf(kerr.InvalidRequest, "samsa does not enforce %s, so it cannot be set; the quotas it enforces are %v", op.Key, quotaKeys)
		case !slices.Contains(quotaKeys, op.Key):
			return nil, kerrf(kerr.InvalidRequest, "Invalid configuration key %s", op.Key)
		}
		seen[op.Key] = true
		if op.Remove {
			recs = append(recs, metadata.ClientQuotaRecord{Entity: entity, Key: op.Key, Remove: true})
			continue
		}
		// Byte rates are whole numbers of bytes per second, as Kafka's
		// LONG quota keys; zero or less would stop the client for good.
		if op.Value != math.Trunc(op.Value) || op.Value < 1 || op.Value > math.MaxInt64 {
			return nil, kerrf(kerr.InvalidRequest, "Invalid value %v for %s: a byte rate is a whole number of bytes per second, at least 1", op.Value, op.Key)
		}
		recs = append(recs, metadata.ClientQuotaRecord{Entity: entity, Key: op.Key, Value: op.Value})
	}
	return recs, nil
}

// ipQuotaRecords checks the changes of an ip entity's quota: only
// connection_creation_rate, a whole number of connections a second.
func ipQuotaRecords(entity metadata.QuotaEntity, ops []kmsg.AlterClientQuotasRequestEntryOp) ([]metadata.Record, error) {
	var recs []metadata.Record
	seen := false
	for _, op := range ops {
		switch {
		case op.Key != ipQuotaKey:
			return nil, kerrf(kerr.InvalidRequest, "Invalid configuration key %s: an ip entity has only %s", op.Key, ipQuotaKey)
		case seen:
			return nil, kerrf(kerr.InvalidRequest, "Duplicate quota key %s not updating quota for this entity", op.Key)
		}
		seen = true
		if op.Remove {
			recs = append(recs, metadata.ClientQuotaRecord{Entity: entity, Key: op.Key, Remove: true})
			continue
		}
		// An INT quota, as in Kafka; 0 refuses every new connection.
		if op.Value != math.Trunc(op.Value) || op.Value < 0 || op.Value > math.MaxInt32 {
			return nil, kerrf(kerr.InvalidRequest, "Invalid value %v for %s: connections a second, a whole number from 0 to %d", op.Value, op.Key, math.MaxInt32)
		}
		recs = append(recs, metadata.ClientQuotaRecord{Entity: entity, Key: op.Key, Value: op.Value})
	}
	return recs, nil
}

// quotaEntity parses an entity: user and client-id, each at most once, or
// an ip alone; a null name is <default>. An ip is an address, as it prints
// (Kafka also takes a host name and resolves it once, which pins a quota to
// whatever the name meant then; samsa asks for the address).
func quotaEntity(parts []kmsg.AlterClientQuotasRequestEntryEntity) (metadata.QuotaEntity, error) {
	var e metadata.QuotaEntity
	if len(parts) == 0 {
		return e, kerrf(kerr.InvalidRequest, "Invalid empty client quota entity")
	}
	for _, part := range parts {
		var dst *metadata.QuotaName
		switch part.Type {
		case "user":
			dst = &e.User
		case "client-id":
			dst = &e.ClientID
		case "ip":
			dst = &e.IP
		default:
			return e, kerrf(kerr.InvalidRequest, "Unhandled client quota entity type: %s", part.Type)
		}
		if dst.Set {
			return e, kerrf(kerr.InvalidRequest, "Duplicate %s entity in %s", part.Type, entityString(parts))
		}
		if part.Name != nil && *part.Name == "" {
			return e, kerrf(kerr.InvalidRequest, "Empty %s not supported", part.Type)
		}
		if part.Name == nil {
			*dst = metadata.QuotaDefault
		} else {
			*dst = metadata.QuotaNamed(*part.Name)
		}
	}
	if e.IP.Set && (e.User.Set || e.ClientID.Set) {
		return e, kerrf(kerr.InvalidRequest, "Invalid quota entity combination, IP quota should not combine with user or client ID entities: %s", entityString(parts))
	}
	if e.IP.Set && !e.IP.Default {
		ip := net.ParseIP(e.IP.Name)
		if ip == nil {
			return e, kerrf(kerr.InvalidRequest, "%s is not a valid IP address", e.IP.Name)
		}
		e.IP.Name = ip.String() // one form, the one connections are matched in
	}
	return e, nil
}

func entityString(parts []kmsg.AlterClientQuotasRequestEntryEntity) string {
	s := ""
	for _, p := range parts {
		name := "<default>"
		if p.Name != nil {
			name = *p.Name
		}
		s += fmt.Sprintf("%s=%s ", p.Type, name)
	}
	return s
}
