package controller

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
)

// Config resource types (DescribeConfigs numbering).
const (
	resourceTopic        = kmsg.ConfigResourceType(metadata.ResourceTopic)
	resourceBroker       = kmsg.ConfigResourceType(metadata.ResourceBroker)
	resourceBrokerLogger = kmsg.ConfigResourceType(8)
)

// IncrementalAlterConfigs operations.
const (
	opSet      = 0
	opDelete   = 1
	opAppend   = 2
	opSubtract = 3
)

// AlterConfigs replaces the dynamic configs of each resource with the ones
// given (the legacy API: configs not named are removed).
func (c *Controller) AlterConfigs(ctx context.Context, req *kmsg.AlterConfigsRequest) (*kmsg.AlterConfigsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrAlterConfigsResponse()
	resp.Version = req.Version
	img := c.image()
	var recs []metadata.Record
	for _, r := range req.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		want := map[string]string{}
		for _, cfg := range r.Configs {
			if cfg.Value != nil {
				want[cfg.Name] = *cfg.Value
			}
		}
		rrecs, err := c.decideConfigs(img, r.ResourceType, r.ResourceName, want)
		if err != nil {
			setKerr(&out.ErrorCode, &out.ErrorMessage, err)
		} else if !req.ValidateOnly {
			recs = append(recs, rrecs...)
		}
		resp.Resources = append(resp.Resources, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Resources {
			if resp.Resources[i].ErrorCode == 0 {
				setErr(&resp.Resources[i].ErrorCode, &resp.Resources[i].ErrorMessage, kerr.RequestTimedOut, err.Error())
			}
		}
	}
	return resp, nil
}

// IncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT
// operations to the dynamic configs of each resource.
func (c *Controller) IncrementalAlterConfigs(ctx context.Context, req *kmsg.IncrementalAlterConfigsRequest) (*kmsg.IncrementalAlterConfigsResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	resp.Version = req.Version
	img := c.image()
	var recs []metadata.Record
	for _, r := range req.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		want, err := c.incrementalTarget(img, r)
		var rrecs []metadata.Record
		if err == nil {
			rrecs, err = c.decideConfigs(img, r.ResourceType, r.ResourceName, want)
		}
		if err != nil {
			setKerr(&out.ErrorCode, &out.ErrorMessage, err)
		} else if !req.ValidateOnly {
			recs = append(recs, rrecs...)
		}
		resp.Resources = append(resp.Resources, out)
	}
	if err := c.propose(ctx, recs); err != nil {
		if errors.Is(err, ErrNotActive) {
			return nil, err
		}
		for i := range resp.Resources {
			if resp.Resources[i].ErrorCode == 0 {
				setErr(&resp.Resources[i].ErrorCode, &resp.Resources[i].ErrorMessage, kerr.RequestTimedOut, err.Error())
			}
		}
	}
	return resp, nil
}

// incrementalTarget computes the full set of dynamic configs a resource
// will have after the request's operations.
func (c *Controller) incrementalTarget(img *metadata.Image, r kmsg.IncrementalAlterConfigsRequestResource) (map[string]string, error) {
	res, err := configResource(img, r.ResourceType, r.ResourceName)
	if err != nil {
		return nil, err
	}
	want := maps.Clone(img.Configs(res))
	if want == nil {
		want = map[string]string{}
	}
	seen := map[string]bool{}
	for _, cfg := range r.Configs {
		if seen[cfg.Name] {
			return nil, kerrf(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[cfg.Name] = true
		switch cfg.Op {
		case opSet:
			if cfg.Value == nil {
				return nil, kerrf(kerr.InvalidRequest, "Null value not supported for : %s", cfg.Name)
			}
			want[cfg.Name] = *cfg.Value
		case opDelete:
			delete(want, cfg.Name)
		case opAppend, opSubtract:
			if !config.IsListConfig(cfg.Name) {
				verb := map[kmsg.IncrementalAlterConfigOp]string{opAppend: "append", opSubtract: "subtract"}[cfg.Op]
				return nil, kerrf(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", verb, cfg.Name)
			}
			cur := c.effectiveList(img, r.ResourceType, r.ResourceName, cfg.Name, want)
			var add []string
			if cfg.Value != nil {
				add = splitList(*cfg.Value)
			}
			if cfg.Op == opAppend {
				for _, v := range add {
					if !slices.Contains(cur, v) {
						cur = append(cur, v)
					}
				}
			} else {
				cur = slices.DeleteFunc(cur, func(v string) bool { return slices.Contains(add, v) })
			}
			want[cfg.Name] = strings.Join(cur, ",")
		default:
			return nil, kerrf(kerr.InvalidRequest, "Unknown alter config operation %d", cfg.Op)
		}
	}
	return want, nil
}

// effectiveList is the current value of a list config, from the pending
// dynamic value or else the resolved one.
func (c *Controller) effectiveList(img *metadata.Image, typ kmsg.ConfigResourceType, name, key string, pending map[string]string) []string {
	if v, ok := pending[key]; ok {
		return splitList(v)
	}
	var entries []config.Entry
	if typ == resourceTopic {
		entries = c.cfg.Broker.DescribeTopic(img.TopicConfigs(name), config.ClusterDynamic(img.Configs(metadata.DefaultBrokerResource)))
	} else {
		entries = config.DescribeBrokerDefault(img.Configs(metadata.DefaultBrokerResource))
	}
	for _, e := range entries {
		if e.Name == key && e.Value != nil {
			return splitList(*e.Value)
		}
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// decideConfigs validates the full target set of dynamic configs of a
// resource and returns the records that turn the current set into it.
func (c *Controller) decideConfigs(img *metadata.Image, typ kmsg.ConfigResourceType, name string, want map[string]string) ([]metadata.Record, error) {
	res, err := configResource(img, typ, name)
	if err != nil {
		return nil, err
	}
	cur := img.Configs(res)
	switch typ {
	case resourceTopic:
		for k := range want {
			if config.IsLegacyTopicConfig(k) {
				delete(want, k) // accepted, ignored, never stored (as Kafka 4.0)
			}
		}
		if err := config.ValidateTopicConfigs(want); err != nil {
			return nil, kerrf(kerr.InvalidConfig, "%v", err)
		}
	case resourceBroker:
		for _, k := range sortedKeys(want) {
			perBroker, clusterWide := config.IsDynamicBrokerConfig(k)
			if v, stored := cur[k]; stored && v == want[k] {
				// Kept as it was: a value stored before samsa stopped
				// taking it at run time does not block other changes.
				perBroker, clusterWide = true, true
			}
			if (name == "" && !clusterWide) || (name != "" && !perBroker) {
				if why := config.StartupOnly(k); why != "" {
					return nil, kerrf(kerr.InvalidRequest, "Cannot update these configs dynamically: %s (%s)", k, why)
				}
				level := "per-broker"
				if name == "" {
					level = "cluster-wide"
				}
				return nil, kerrf(kerr.InvalidRequest, "Cannot update these configs dynamically (%s): %s", level, k)
			}
			if err := config.ValidateBrokerConfig(k, want[k]); err != nil {
				return nil, kerrf(kerr.InvalidConfig, "%v", err)
			}
		}
	}
	var recs []metadata.Record
	for _, k := range sortedKeys(cur) {
		if _, keep := want[k]; !keep {
			recs = append(recs, metadata.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Delete: true})
		}
	}
	for _, k := range sortedKeys(want) {
		if v, ok := cur[k]; !ok || v != want[k] {
			recs = append(recs, metadata.ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: k, Value: want[k]})
		}
	}
	return recs, nil
}

// configResource checks that a config resource exists and can be altered.
func configResource(img *metadata.Image, typ kmsg.ConfigResourceType, name string) (metadata.ConfigResource, error) {
	switch typ {
	case resourceTopic:
		if _, ok := img.Topic(name); !ok {
			return metadata.ConfigResource{}, kerrf(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", name)
		}
		return metadata.ConfigResource{Type: metadata.ResourceTopic, Name: name}, nil
	case resourceBroker:
		if name != "" {
			id, err := strconv.ParseInt(name, 10, 32)
			if err != nil {
				return metadata.ConfigResource{}, kerrf(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
			}
			if _, ok := img.Broker(int32(id)); !ok {
				return metadata.ConfigResource{}, kerrf(kerr.InvalidRequest, "Broker %d is not registered.", id)
			}
		}
		return metadata.ConfigResource{Type: metadata.ResourceBroker, Name: name}, nil
	case resourceBrokerLogger:
		// Brokers change their loggers themselves, with
		// IncrementalAlterConfigs; this is the legacy AlterConfigs.
		return metadata.ConfigResource{}, kerrf(kerr.InvalidRequest, "AlterConfigs is deprecated and does not support the resource type BROKER_LOGGER")
	}
	return metadata.ConfigResource{}, kerrf(kerr.InvalidRequest, "Unsupported resource type %d", typ)
}
