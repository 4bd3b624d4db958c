package api

// Broker loggers (config resource type BROKER_LOGGER), as Kafka serves
// them: described with DescribeConfigs and changed with
// IncrementalAlterConfigs, on the broker the resource names, at run time
// and not kept across a restart (the start takes --log-level again).
// samsa logs through one log/slog logger, so there is one logger, "root";
// Kafka's level names map onto slog's levels (TRACE below DEBUG, FATAL
// above ERROR). Kafka's checks and messages: the resource name must be
// this node's id; SET takes one of Kafka's levels; DELETE of root and
// APPEND/SUBTRACT are INVALID_REQUEST; an unknown logger is INVALID_CONFIG.

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/config"
)

// rootLogger is the one logger samsa has, by Kafka's name for the root.
const rootLogger = "root"

// Kafka's levels beyond slog's four.
const (
	levelTrace = slog.LevelDebug - 4
	levelFatal = slog.LevelError + 4
)

// kafkaLevel is one of Kafka's log levels and the slog level it stands for.
type kafkaLevel struct {
	name  string
	level slog.Level
}

// logLevels are Kafka's level names, in the order its messages list them
// (sorted), with the slog level each stands for.
var logLevels = []kafkaLevel{
	{"DEBUG", slog.LevelDebug},
	{"ERROR", slog.LevelError},
	{"FATAL", levelFatal},
	{"INFO", slog.LevelInfo},
	{"TRACE", levelTrace},
	{"WARN", slog.LevelWarn},
}

// validLogLevels lists them as Kafka's refusal does.
var validLogLevels = func() string {
	names := make([]string, len(logLevels))
	for i, l := range logLevels {
		names[i] = l.name
	}
	return strings.Join(names, ", ")
}()

// levelName is the Kafka name of the most verbose Kafka level that l lets
// through.
func levelName(l slog.Level) string {
	switch {
	case l <= levelTrace:
		return "TRACE"
	case l <= slog.LevelDebug:
		return "DEBUG"
	case l <= slog.LevelInfo:
		return "INFO"
	case l <= slog.LevelWarn:
		return "WARN"
	case l <= slog.LevelError:
		return "ERROR"
	}
	return "FATAL"
}

// loggerEntries describes the broker loggers of the broker named.
func (h *Handler) loggerEntries(name string) ([]config.Entry, *kerr.Error, string) {
	if name == "" {
		return nil, kerr.InvalidRequest, "Broker id must not be empty"
	}
	if name != strconv.Itoa(int(h.cfg.NodeID)) {
		return nil, kerr.InvalidRequest, "Unexpected broker id, expected " + strconv.Itoa(int(h.cfg.NodeID)) + " but received " + name
	}
	if h.cfg.LogLevel == nil {
		return nil, kerr.InvalidRequest, "this broker's log level cannot be changed at run time"
	}
	v := levelName(h.cfg.LogLevel.Level())
	return []config.Entry{{Name: rootLogger, Value: &v, Source: config.DynamicBrokerLoggerConfig, Type: config.TypeString}}, nil, ""
}

// alterLoggers applies one IncrementalAlterConfigs resource of type
// BROKER_LOGGER: every operation is checked before any is applied.
func (h *Handler) alterLoggers(r *kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) (*kerr.Error, string) {
	id, err := strconv.ParseInt(r.ResourceName, 10, 32)
	if err != nil {
		return kerr.InvalidRequest, "Node id must be an integer, but it is: " + r.ResourceName
	}
	if int32(id) != h.cfg.NodeID {
		return kerr.InvalidRequest, "Unexpected node id. Expected " + strconv.Itoa(int(h.cfg.NodeID)) + ", but received " + r.ResourceName
	}
	if h.cfg.LogLevel == nil {
		return kerr.InvalidRequest, "this broker's log level cannot be changed at run time"
	}
	var set *slog.Level
	for _, op := range r.Configs {
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete:
			if op.Name != rootLogger {
				return kerr.InvalidConfig, "Logger " + op.Name + " does not exist!"
			}
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			return kerr.InvalidRequest, op.Op.String() + " operation is not allowed for the BROKER_LOGGER resource"
		default:
			return kerr.InvalidRequest, "Unknown operation type " + strconv.Itoa(int(op.Op)) + " is not allowed for the BROKER_LOGGER resource"
		}
		if op.Op == kmsg.IncrementalAlterConfigOpDelete {
			return kerr.InvalidRequest, "Removing the log level of the " + rootLogger + " logger is not allowed"
		}
		value := "null"
		if op.Value != nil {
			value = *op.Value
		}
		i := slices.IndexFunc(logLevels, func(l kafkaLevel) bool { return l.name == value })
		if i < 0 {
			return kerr.InvalidConfig, "Cannot set the log level of " + op.Name + " to " + value +
				" as it is not a supported log level. Valid log levels are " + validLogLevels
		}
		set = &logLevels[i].level
	}
	if set != nil && !validateOnly {
		h.cfg.LogLevel.Set(*set)
		h.log.Warn("updated the log level", "logger", rootLogger, "level", levelName(*set))
	}
	return nil, ""
}
