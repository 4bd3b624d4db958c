package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client quotas with kafka-configs.sh, as Kafka's ConfigCommand handles
// --entity-type users and clients (together for a user's client id), and
// connection quotas of --entity-type ips:
//
//	kafka-configs.sh --bootstrap-server H:P --alter --add-config producer_byte_rate=1048576 --entity-type clients --entity-name app
//	Completed updating config for client app.
//	kafka-configs.sh --bootstrap-server H:P --describe --entity-type clients
//	Quota configs for client-id 'app' are producer_byte_rate=1048576.0
//	kafka-configs.sh --bootstrap-server H:P --alter --add-config connection_creation_rate=10 --entity-type ips --entity-name 10.0.0.1
//	Completed updating config for ip 10.0.0.1.
//
// --entity-default names <default> ("the default client-id"). Describe
// asks for entities of exactly the types given (a strict filter), as Kafka
// does; values print as Java prints a double.

// quotaEntityTypes maps the tool's entity types to the protocol's.
var quotaEntityTypes = map[string]string{"users": "user", "clients": "client-id", "ips": "ip"}

func (c *configsCmd) quotas(ctx context.Context, types, names []string, describe bool, addConfig, addConfigFile string, deletes []string) error {
	if describe {
		return c.describeQuotas(ctx, types, names)
	}
	if len(names) != len(types) {
		return &illegalArg{"--entity-name or --entity-default must be specified with each --entity-type for --alter"}
	}
	adds, err := configAdds(addConfig, addConfigFile)
	if err != nil {
		return err
	}
	entry := kmsg.NewAlterClientQuotasRequestEntry()
	for i, t := range types {
		ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
		ent.Type = quotaEntityTypes[t]
		if i < len(names) && names[i] != "" {
			ent.Name = kmsg.StringPtr(names[i])
		}
		entry.Entity = append(entry.Entity, ent)
	}
	for _, k := range adds.Keys() {
		v, _ := adds.Get(k)
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return &illegalArg{fmt.Sprintf("Cannot parse quota configuration value for %s: %s", k, v)}
		}
		op := kmsg.NewAlterClientQuotasRequestEntryOp()
		op.Key, op.Value = k, f
		entry.Ops = append(entry.Ops, op)
	}
	for _, k := range deletes {
		op := kmsg.NewAlterClientQuotasRequestEntryOp()
		op.Key, op.Remove = k, true
		entry.Ops = append(entry.Ops, op)
	}
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Entries = append(req.Entries, entry)
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	for _, e := range resp.Entries {
		if err := kerr.ErrorForCode(e.ErrorCode); err != nil {
			return javaExecution(err, deref(e.ErrorMessage))
		}
	}
	if names[0] == "" {
		fmt.Fprintf(c.e.stdout, "Completed updating default config for %s in the cluster.\n", types[0])
	} else {
		fmt.Fprintf(c.e.stdout, "Completed updating config for %s %s.\n", strings.TrimSuffix(types[0], "s"), names[0])
	}
	return nil
}

func (c *configsCmd) describeQuotas(ctx context.Context, types, names []string) error {
	req := kmsg.NewPtrDescribeClientQuotasRequest()
	req.Strict = true
	for i, t := range types {
		comp := kmsg.NewDescribeClientQuotasRequestComponent()
		comp.EntityType = quotaEntityTypes[t]
		switch {
		case i >= len(names):
			comp.MatchType = kmsg.QuotasMatchTypeAny
		case names[i] == "":
			comp.MatchType = kmsg.QuotasMatchTypeDefault
		default:
			comp.MatchType, comp.Match = kmsg.QuotasMatchTypeExact, kmsg.StringPtr(names[i])
		}
		req.Components = append(req.Components, comp)
	}
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return javaExecution(err, deref(resp.ErrorMessage))
	}
	var lines []string
	for _, e := range resp.Entries {
		var parts, values []string
		for _, typ := range []string{"user", "client-id", "ip"} {
			i := slices.IndexFunc(e.Entity, func(p kmsg.DescribeClientQuotasResponseEntryEntity) bool { return p.Type == typ })
			if i < 0 {
				continue
			}
			label := map[string]string{"user": "user-principal", "client-id": "client-id", "ip": "ip"}[typ]
			if n := e.Entity[i].Name; n != nil {
				parts = append(parts, fmt.Sprintf("%s '%s'", label, *n))
			} else {
				parts = append(parts, "the default "+label)
			}
		}
		for _, v := range e.Values {
			values = append(values, v.Key+"="+javaDouble(v.Value))
		}
		lines = append(lines, fmt.Sprintf("Quota configs for %s are %s", strings.Join(parts, ", "), strings.Join(values, ", ")))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(c.e.stdout, l)
	}
	return nil
}
