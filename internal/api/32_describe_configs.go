package api

// DescribeConfigs, versions 0–4.
//
// Topics: every topic config with its value and source (DYNAMIC_TOPIC_CONFIG,
// DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG), the
// synonyms in Kafka's precedence order (v1+, when asked) and type and
// documentation (v3+, when asked). Brokers: this broker's id, or "" for the
// cluster-wide dynamic defaults; another broker's id is INVALID_REQUEST, as
// in Kafka, whose admin clients send that request to the broker itself.
// Broker loggers likewise (broker_logger.go). Sensitive values are null.
// ConfigNames narrows the answer.

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
	"github.com/samsa-io/samsa/internal/metadata"
	"github.com/samsa-io/samsa/internal/wire"
)

func (h *Handler) describeConfigs(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.DescribeConfigsRequest)
	resp := kmsg.NewPtrDescribeConfigsResponse()
	img := h.image()
	for _, r := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		entries, code, msg := h.configEntries(img, r)
		if code != nil {
			out.ErrorCode, out.ErrorMessage = code.Code, kmsg.StringPtr(msg)
			resp.Resources = append(resp.Resources, out)
			continue
		}
		for _, e := range entries {
			if r.ConfigNames != nil && !slices.Contains(r.ConfigNames, e.Name) {
				continue
			}
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name, rc.Value, rc.ReadOnly, rc.IsSensitive = e.Name, e.Value, e.ReadOnly, e.Sensitive
			rc.IsDefault = e.IsDefault
			rc.Source = kmsg.ConfigSource(e.Source)
			if c.Version == 0 && e.Source != config.DefaultConfig && e.Source != config.DynamicTopicConfig {
				rc.IsDefault = false
			}
			if req.IncludeSynonyms {
				for _, s := range e.Synonyms {
					rs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
					rs.Name, rs.Value, rs.Source = s.Name, s.Value, kmsg.ConfigSource(s.Source)
					rc.ConfigSynonyms = append(rc.ConfigSynonyms, rs)
				}
			}
			rc.ConfigType = kmsg.ConfigType(e.Type)
			if req.IncludeDocumentation && e.Documentation != "" {
				rc.Documentation = kmsg.StringPtr(e.Documentation)
			}
			out.Configs = append(out.Configs, rc)
		}
		resp.Resources = append(resp.Resources, out)
	}
	return c.respond(resp), nil
}

// configEntries describes one resource, or returns the error for it.
func (h *Handler) configEntries(img *metadata.Image, r kmsg.DescribeConfigsRequestResource) ([]config.Entry, *kerr.Error, string) {
	switch r.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if _, ok := img.Topic(r.ResourceName); !ok {
			return nil, kerr.UnknownTopicOrPartition, "The topic '" + r.ResourceName + "' does not exist."
		}
		return h.cfg.Broker.DescribeTopic(img.TopicConfigs(r.ResourceName), h.dynamicConfig(img)), nil, ""
	case kmsg.ConfigResourceTypeBroker:
		if r.ResourceName == "" {
			return config.DescribeBrokerDefault(img.Configs(metadata.DefaultBrokerResource)), nil, ""
		}
		if r.ResourceName != strconv.Itoa(int(h.cfg.NodeID)) {
			return nil, kerr.InvalidRequest, "Unexpected broker id, expected " + strconv.Itoa(int(h.cfg.NodeID)) + " or empty string, but received " + r.ResourceName
		}
		dyn := h.dynamicConfig(img)
		return h.cfg.Broker.DescribeBroker(dyn.PerBroker, dyn.ClusterDefault), nil, ""
	case kmsg.ConfigResourceTypeBrokerLogger:
		return h.loggerEntries(r.ResourceName)
	}
	return nil, kerr.InvalidRequest, "Unsupported resource type " + r.ResourceType.String()
}

// dynamicConfig is the dynamic broker configuration in img that applies to
// this broker: its own resource's values and the cluster-wide ones.
func (h *Handler) dynamicConfig(img *metadata.Image) config.Dynamic {
	return config.Dynamic{
		PerBroker:      img.Configs(metadata.BrokerResource(h.cfg.NodeID)),
		ClusterDefault: img.Configs(metadata.DefaultBrokerResource),
	}
}
