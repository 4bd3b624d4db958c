package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka_configs.go is the kafka-configs.sh personality for topics, brokers
// and broker loggers: --describe [--all] and --alter
// --add-config/--delete-config, with --entity-type/--entity-name/
// --entity-default or the --topic, --broker, --broker-logger and
// --broker-defaults shorthands. Output lines are Kafka's:
//
//	Dynamic configs for topic T are:
//	  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}
//	Completed updating config for topic T.
//
// Changes use IncrementalAlterConfigs for brokers too (Kafka's tool still
// sends the legacy AlterConfigs for brokers). Broker loggers go to the
// broker named, as Kafka's admin client sends them. Users and clients are
// client quotas (kafka_configs_quotas.go). IPs, groups and client metrics
// are refused with a message.

var configEntityTypes = []string{"users", "brokers", "broker-loggers", "topics", "clients", "ips", "client-metrics", "groups"}

func kafkaConfigs(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("kafka-configs.sh --bootstrap-server HOST:PORT (--describe [--all] | --alter (--add-config K=V,... | --delete-config K,...)) ENTITY [options]",
		"This tool helps to manipulate and describe entity config for a topic or broker.\n"+
			"ENTITY is --entity-type topics|brokers with --entity-name NAME or --entity-default, or --topic T,\n"+
			"--broker ID or --broker-defaults.")
	conn := addKafkaConn(f, "admin client properties file")
	f.Alias("bootstrap-server", "bootstrap-controller")
	f.Bool("describe", "List configs for the given entity.")
	f.Bool("alter", "Alter the configuration for the entity.")
	all := f.Bool("all", "with --describe: all configs, not only the dynamic ones")
	types := f.Strings("entity-type", "TYPE", "topics, brokers or broker-loggers")
	names := f.Strings("entity-name", "NAME", "topic name or broker id (brokers, broker-loggers)")
	entityDefault := f.Bool("entity-default", "the cluster-wide default (brokers)")
	addConfig := f.String("add-config", "", "K=V,...", "configs to set; [] groups values with commas: 'k1=v1,k2=[a,b]'")
	addConfigFile := f.String("add-config-file", "", "FILE", "properties file of configs to set")
	deleteConfig := f.CommaStrings("delete-config", "K,...", "configs to remove")
	f.Bool("force", "accepted for compatibility")
	shorthands := map[string]string{"topic": "topics", "broker": "brokers", "broker-logger": "broker-loggers",
		"client": "clients", "user": "users", "ip": "ips", "group": "groups", "client-metrics": "client-metrics"}
	values := map[string]*string{}
	for _, flag := range []string{"topic", "broker", "broker-logger", "client", "user", "ip", "group", "client-metrics"} {
		values[flag] = f.String(flag, "", "NAME", "shorthand for --entity-type "+shorthands[flag]+" --entity-name NAME")
	}
	defaults := map[string]string{"broker-defaults": "brokers", "client-defaults": "clients", "user-defaults": "users", "ip-defaults": "ips"}
	for _, flag := range []string{"broker-defaults", "client-defaults", "user-defaults", "ip-defaults"} {
		f.Bool(flag, "shorthand for --entity-type "+defaults[flag]+" --entity-default")
	}
	if code, ok := e.kafkaParse(f, args); !ok {
		return code
	}

	// Entity types and names in the order Kafka's ConfigCommandOptions builds them.
	entTypes := slices.Clone(*types)
	entNames := namesInOrder(args, *names, *entityDefault)
	shorthandUsed := false
	for _, flag := range []string{"topic", "client", "user", "broker", "broker-logger", "ip", "client-metrics", "group"} {
		if f.Changed(flag) {
			entTypes, entNames, shorthandUsed = append(entTypes, shorthands[flag]), append(entNames, *values[flag]), true
		}
	}
	for _, flag := range []string{"client-defaults", "user-defaults", "broker-defaults", "ip-defaults"} {
		if f.Changed(flag) {
			entTypes, entNames, shorthandUsed = append(entTypes, defaults[flag]), append(entNames, ""), true
		}
	}
	if err := checkConfigsArgs(f, entTypes, entNames, shorthandUsed); err != nil {
		return e.usageFail(f, err)
	}
	if t := entTypes[0]; t != "topics" && t != "brokers" && t != "broker-loggers" && t != "users" && t != "clients" && t != "ips" {
		return e.fail(fmt.Errorf("entity type %s is not supported by samsa yet (topics, brokers, broker-loggers, users, clients and ips are)", t))
	}
	name, hasName := "", len(entNames) > 0
	if hasName {
		name = entNames[0]
	}

	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	cc := &configsCmd{e: e, cl: cl, adm: adm, entity: entTypes[0], args: args}
	switch {
	case cc.entity == "users" || cc.entity == "clients" || cc.entity == "ips":
		err = cc.quotas(ctx, entTypes, entNames, f.Changed("describe"), *addConfig, *addConfigFile, *deleteConfig)
	case f.Changed("describe"):
		err = cc.describe(ctx, name, hasName, *all)
	default:
		err = cc.alter(ctx, name, *addConfig, *addConfigFile, *deleteConfig)
	}
	if err != nil {
		var ia *illegalArg
		if errors.As(err, &ia) {
			fmt.Fprintln(e.stderr, ia.msg)
			return 1
		}
		fmt.Fprintf(e.stderr, "Error while executing config command with args '%s'\n%v\n", strings.Join(args, " "), javaExecution(err, ""))
		return 1
	}
	return 0
}

// namesInOrder is the --entity-name values and --entity-default ("") in
// the order they appear in args, as Kafka's ConfigCommandOptions lists
// them: "--entity-type users --entity-default --entity-type clients
// --entity-name app" is the default user with client app. When the scan
// cannot account for every name it keeps the names first and the default
// last.
func namesInOrder(args, names []string, hasDefault bool) []string {
	var out []string
	next, defaults := 0, 0
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			continue
		}
		flag, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch flag {
		case "entity-default":
			out, defaults = append(out, ""), defaults+1
		case "entity-name":
			if next < len(names) {
				out, next = append(out, names[next]), next+1
			}
			if !hasValue {
				i++ // its value
			}
		}
	}
	if next != len(names) || (defaults > 0) != hasDefault {
		out = slices.Clone(names)
		if hasDefault {
			out = append(out, "")
		}
	}
	return out
}

// checkConfigsArgs ports ConfigCommandOptions.checkArgs for the parts that
// apply without ZooKeeper.
func checkConfigsArgs(f *flagSet, types, names []string, shorthand bool) error {
	if f.Changed("describe") == f.Changed("alter") {
		return usagef("Command must include exactly one action: --describe, --alter")
	}
	if f.Changed("describe") {
		for _, o := range []string{"alter", "add-config", "delete-config"} {
			if f.Changed(o) {
				return kafkaOptionConflict("describe", o)
			}
		}
	}
	seen := map[string]bool{}
	for _, t := range types {
		if seen[t] {
			return usagef("Duplicate entity type(s) specified: %s", t)
		}
		seen[t] = true
		if !slices.Contains(configEntityTypes, t) {
			return usagef("Invalid entity type %s, the entity type must be one of %s with a --bootstrap-server or --bootstrap-controller argument", t, strings.Join(configEntityTypes, ", "))
		}
	}
	switch {
	case len(types) == 0:
		return usagef("At least one entity type must be specified")
	case len(types) > 1 && !(len(types) == 2 && seen["users"] && seen["clients"]):
		return usagef("Only 'users' and 'clients' entity types may be specified together")
	case shorthand && (f.Changed("entity-type") || f.Changed("entity-name") || f.Changed("entity-default")):
		return usagef("--entity-{type,name,default} should not be used in conjunction with specific entity flags")
	}
	hasName := slices.ContainsFunc(names, func(n string) bool { return n != "" })
	hasDefault := slices.Contains(names, "")
	if hasName && (seen["brokers"] || seen["broker-loggers"]) {
		for _, n := range names {
			if _, err := strconv.Atoi(n); n != "" && err != nil {
				return usagef("The entity name for %s must be a valid integer broker id, but it is: %s", types[0], n)
			}
		}
	}
	if f.Changed("describe") {
		if !(seen["users"] || seen["clients"] || seen["brokers"] || seen["ips"]) && f.Changed("entity-default") {
			return usagef("--entity-default must not be specified with --describe of %s", strings.Join(types, ","))
		}
		return nil
	}
	if seen["users"] || seen["clients"] || seen["brokers"] || seen["ips"] {
		if !hasName && !hasDefault {
			return usagef("An entity-name or default entity must be specified with --alter of users, clients, brokers or ips")
		}
	} else if !hasName {
		return usagef("An entity name must be specified with --alter of %s", strings.Join(types, ","))
	}
	if f.Changed("add-config") && f.Changed("add-config-file") {
		return usagef("Only one of --add-config or --add-config-file must be specified")
	}
	if !f.Changed("add-config") && !f.Changed("add-config-file") && !f.Changed("delete-config") {
		return usagef("At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter")
	}
	return nil
}

type configsCmd struct {
	e      *env
	cl     *kgo.Client
	adm    *kadm.Client
	entity string   // "topics", "brokers" or "broker-loggers"
	args   []string // for Kafka's error line
}

// resourceConfigs describes one topic, broker ("" is the broker default) or
// broker's loggers.
func (c *configsCmd) resourceConfigs(ctx context.Context, name string) ([]kadm.Config, error) {
	var rcs kadm.ResourceConfigs
	var err error
	if c.entity == "broker-loggers" {
		rcs, err = c.describeLoggers(ctx, name)
	} else if c.entity == "topics" {
		rcs, err = c.adm.DescribeTopicConfigs(ctx, name)
	} else if name == "" {
		rcs, err = c.adm.DescribeBrokerConfigs(ctx)
	} else {
		id, _ := strconv.Atoi(name)
		rcs, err = c.adm.DescribeBrokerConfigs(ctx, int32(id))
	}
	if err != nil {
		return nil, err
	}
	rc, err := rcs.On(name, nil)
	if err != nil {
		return nil, err
	}
	if rc.Err != nil {
		return nil, javaExecution(rc.Err, rc.ErrMessage)
	}
	cfgs := slices.Clone(rc.Configs)
	slices.SortFunc(cfgs, func(a, b kadm.Config) int { return strings.Compare(a.Key, b.Key) })
	return cfgs, nil
}

// describeLoggers describes the loggers of broker name with a
// DescribeConfigs request, which the client sends to that broker.
func (c *configsCmd) describeLoggers(ctx context.Context, name string) (kadm.ResourceConfigs, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, name
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return nil, err
	}
	var rcs kadm.ResourceConfigs
	for _, res := range resp.Resources {
		rc := kadm.ResourceConfig{Name: res.ResourceName, Err: kerr.ErrorForCode(res.ErrorCode), ErrMessage: deref(res.ErrorMessage)}
		for _, cfg := range res.Configs {
			rc.Configs = append(rc.Configs, kadm.Config{Key: cfg.Name, Value: cfg.Value, Sensitive: cfg.IsSensitive, Source: cfg.Source})
		}
		rcs = append(rcs, rc)
	}
	return rcs, nil
}

// dynamicSource is the source of the configs a --describe without --all
// shows (broker loggers are shown whatever their source, as Kafka does).
func (c *configsCmd) dynamicSource(name string) kmsg.ConfigSource {
	switch {
	case c.entity == "topics":
		return kmsg.ConfigSourceDynamicTopicConfig
	case name == "":
		return kmsg.ConfigSourceDynamicDefaultBrokerConfig
	}
	return kmsg.ConfigSourceDynamicBrokerConfig
}

func (c *configsCmd) describe(ctx context.Context, name string, hasName, all bool) error {
	entities := []string{name}
	if !hasName {
		entities = nil
		if c.entity == "topics" {
			topics, err := c.adm.ListTopicsWithInternal(ctx)
			if err != nil {
				return err
			}
			entities = topics.Names()
		} else {
			brokers, err := c.adm.ListBrokers(ctx)
			if err != nil {
				return err
			}
			for _, b := range brokers {
				entities = append(entities, strconv.Itoa(int(b.NodeID)))
			}
			entities = append(entities, "")
		}
	}
	singular := strings.TrimSuffix(c.entity, "s")
	for _, ent := range entities {
		switch {
		case ent == "":
			fmt.Fprintf(c.e.stdout, "Default configs for %s in the cluster are:\n", c.entity)
		case all:
			fmt.Fprintf(c.e.stdout, "All configs for %s %s are:\n", singular, ent)
		default:
			fmt.Fprintf(c.e.stdout, "Dynamic configs for %s %s are:\n", singular, ent)
		}
		cfgs, err := c.resourceConfigs(ctx, ent)
		if err != nil {
			return err
		}
		filter, want := !all && c.entity != "broker-loggers", c.dynamicSource(ent)
		for _, cfg := range cfgs {
			if filter && cfg.Source != want {
				continue
			}
			var syn []string
			for _, s := range cfg.Synonyms {
				syn = append(syn, fmt.Sprintf("%s:%s=%s", s.Source, s.Key, nullable(s.Value)))
			}
			fmt.Fprintf(c.e.stdout, "  %s=%s sensitive=%t synonyms={%s}\n", cfg.Key, nullable(cfg.Value), cfg.Sensitive, strings.Join(syn, ", "))
		}
	}
	return nil
}

// nullable prints a nil value as Java prints a null string.
func nullable(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// configAdds reads the configs --add-config-file and --add-config set.
func configAdds(addConfig, addConfigFile string) (*props, error) {
	adds := &props{}
	if addConfigFile != "" {
		fp, err := loadPropsFile(addConfigFile)
		if err != nil {
			return nil, err
		}
		adds.Merge(fp)
	}
	if addConfig != "" {
		ap, err := parseAddConfig(addConfig)
		if err != nil {
			return nil, err
		}
		adds.Merge(ap)
	}
	for _, k := range adds.Keys() {
		if !configKeyPattern.MatchString(k) {
			return nil, &illegalArg{"Invalid character found for config key: " + k}
		}
	}
	return adds, nil
}

func (c *configsCmd) alter(ctx context.Context, name, addConfig, addConfigFile string, deletes []string) error {
	adds, err := configAdds(addConfig, addConfigFile)
	if err != nil {
		return err
	}
	current, err := c.resourceConfigs(ctx, name)
	if err != nil {
		return err
	}
	if c.entity == "broker-loggers" {
		return c.alterLoggers(ctx, name, current, adds, deletes)
	}
	want := c.dynamicSource(name)
	var invalid []string
	for _, d := range deletes {
		if !slices.ContainsFunc(current, func(cfg kadm.Config) bool { return cfg.Key == d && cfg.Source == want }) {
			invalid = append(invalid, d)
		}
	}
	if len(invalid) > 0 {
		return &illegalArg{"Invalid config(s): " + strings.Join(invalid, ",")}
	}
	var alters []kadm.AlterConfig
	for _, k := range adds.Keys() {
		v, _ := adds.Get(k)
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
	}
	for _, d := range deletes {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: d})
	}
	var resps kadm.AlterConfigsResponses
	if c.entity == "topics" {
		resps, err = c.adm.AlterTopicConfigs(ctx, alters, name)
	} else if name == "" {
		resps, err = c.adm.AlterBrokerConfigs(ctx, alters)
	} else {
		id, _ := strconv.Atoi(name)
		resps, err = c.adm.AlterBrokerConfigs(ctx, alters, int32(id))
	}
	if err != nil {
		return err
	}
	for _, r := range resps {
		if r.Err != nil {
			return javaExecution(r.Err, r.ErrMessage)
		}
	}
	if name != "" {
		fmt.Fprintf(c.e.stdout, "Completed updating config for %s %s.\n", strings.TrimSuffix(c.entity, "s"), name)
	} else {
		fmt.Fprintf(c.e.stdout, "Completed updating default config for %s in the cluster.\n", c.entity)
	}
	return nil
}

// alterLoggers sets and removes the levels of broker name's loggers with
// IncrementalAlterConfigs, after checking, as Kafka's tool does, that each
// logger named is one the broker described.
func (c *configsCmd) alterLoggers(ctx context.Context, name string, current []kadm.Config, adds *props, deletes []string) error {
	exists := func(k string) bool {
		return slices.ContainsFunc(current, func(cfg kadm.Config) bool { return cfg.Key == k })
	}
	var invalid []string
	for _, k := range deletes {
		if !exists(k) {
			invalid = append(invalid, k)
		}
	}
	for _, k := range adds.Keys() {
		if !exists(k) {
			invalid = append(invalid, k)
		}
	}
	if len(invalid) > 0 {
		return errors.New("org.apache.kafka.common.errors.InvalidConfigurationException: Invalid broker logger(s): " + strings.Join(invalid, ","))
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, name
	for _, k := range adds.Keys() {
		v, _ := adds.Get(k)
		op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		op.Name, op.Op, op.Value = k, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(v)
		r.Configs = append(r.Configs, op)
	}
	for _, k := range deletes {
		op := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		op.Name, op.Op, op.Value = k, kmsg.IncrementalAlterConfigOpDelete, kmsg.StringPtr("")
		r.Configs = append(r.Configs, op)
	}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	for _, res := range resp.Resources {
		if err := kerr.ErrorForCode(res.ErrorCode); err != nil {
			return javaExecution(err, deref(res.ErrorMessage))
		}
	}
	fmt.Fprintf(c.e.stdout, "Completed updating config for broker-logger %s.\n", name)
	return nil
}

var configKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]*$`)

// parseAddConfig reads --add-config: pairs split on commas outside square
// brackets, keys and values split on '=' outside brackets, brackets removed
// from values ('k1=v1,k2=[a,b]' sets k2 to "a,b").
func parseAddConfig(s string) (*props, error) {
	p := &props{}
	for _, pair := range splitOutsideBrackets(s, ',') {
		kv := splitOutsideBrackets(pair, '=')
		if len(kv) != 2 {
			return nil, &illegalArg{`requirement failed: Invalid entity config: all configs to be added must be in the format "key=val".`}
		}
		v := strings.NewReplacer("[", "", "]", "").Replace(kv[1])
		p.Set(strings.TrimSpace(kv[0]), strings.TrimSpace(v))
	}
	return p, nil
}

func splitOutsideBrackets(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth = max(depth-1, 0)
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
