package config

import "math"

const (
	maxInt32 = "2147483647"
	maxInt64 = "9223372036854775807"

	standardAuthorizer   = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	zkAuthorizer         = "kafka.security.authorizer.AclAuthorizer"
	defaultPrincipalType = "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"
)

var securityProtocols = oneOf{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

// Listeners, sockets, request limits and thread counts.
var networkDefs = []Def{
	{Name: "listeners", Type: TypeString, Default: "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093", Importance: High, Mode: PerBroker,
		Doc: "Addresses to listen on as NAME://host:port,...; an empty host means every interface (samsa: defaults to localhost only, with CONTROLLER only on controller nodes; Kafka's is PLAINTEXT://:9092)."},
	{Name: "advertised.listeners", Type: TypeString, Null: true, Importance: High, Mode: PerBroker,
		Doc: "Addresses given to clients and other nodes when they differ from listeners (NAT, containers); unset means listeners. Controller listeners here advertise the controller, never a broker endpoint."},
	{Name: "listener.security.protocol.map", Type: TypeString, Default: "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", Importance: Low, Mode: PerBroker,
		Doc: "NAME:PROTOCOL,... giving each listener name its security protocol; when left at the default, controller listener names map to PLAINTEXT."},
	{Name: "controller.listener.names", Type: TypeString, Default: "CONTROLLER", Importance: High,
		Doc: "Comma-separated listener names used by the metadata quorum (samsa: defaults to CONTROLLER; Kafka has no default)."},
	{Name: "inter.broker.listener.name", Type: TypeString, Null: true, Importance: Medium,
		Doc: "Listener name brokers use to replicate from each other; unset means the listener named after security.inter.broker.protocol."},
	{Name: "security.inter.broker.protocol", Type: TypeString, Default: "PLAINTEXT", Valid: securityProtocols, Importance: Medium,
		Doc: "Security protocol between brokers when inter.broker.listener.name is unset; setting both is an error."},

	{Name: "socket.send.buffer.bytes", Type: TypeInt, Default: "102400", Importance: High,
		Doc: "SO_SNDBUF of client sockets in bytes; -1 keeps the operating system's default."},
	{Name: "socket.receive.buffer.bytes", Type: TypeInt, Default: "102400", Importance: High,
		Doc: "SO_RCVBUF of client sockets in bytes; -1 keeps the operating system's default."},
	{Name: "socket.request.max.bytes", Type: TypeInt, Default: "104857600", Valid: atLeast(1), Importance: High,
		Doc: "Largest request frame in bytes; a larger size prefix closes the connection before anything is allocated."},
	{Name: "socket.listen.backlog.size", Type: TypeInt, Default: "50", Valid: atLeast(1), Importance: Medium,
		Doc: "Accept backlog of listening sockets."},
	{Name: "connections.max.idle.ms", Type: TypeLong, Default: "600000", Importance: Medium,
		Doc: "Milliseconds after which a connection with no request in flight is closed; -1 never closes idle connections."},
	{Name: "request.timeout.ms", Type: TypeInt, Default: "30000", Importance: High,
		Doc: "samsa: milliseconds within which a request frame must arrive in full once its first byte has, so slow senders cannot hold connections."},
	{Name: "queued.max.requests", Type: TypeInt, Default: "500", Valid: atLeast(1), Importance: High,
		Doc: "Requests read but not yet answered, across connections, before samsa stops reading sockets."},
	{Name: "queued.max.request.bytes", Type: TypeLong, Default: "-1", Importance: Medium,
		Doc: "Bytes of requests read but not yet answered before samsa stops reading sockets; -1 is unlimited."},
	{Name: "max.connections", Type: TypeInt, Default: maxInt32, Valid: atLeast(0), Importance: Medium, Mode: ClusterWide,
		Doc: "Most open client connections the broker accepts; more are closed on accept."},
	{Name: "max.connections.per.ip", Type: TypeInt, Default: maxInt32, Valid: atLeast(0), Importance: Medium, Mode: ClusterWide,
		Doc: "Most open connections from one IP address; 0 requires max.connections.per.ip.overrides."},
	{Name: "max.connections.per.ip.overrides", Type: TypeString, Default: "", Importance: Medium, Mode: ClusterWide,
		Doc: "host-or-ip:count,... exceptions to max.connections.per.ip."},
	{Name: "max.connection.creation.rate", Type: TypeInt, Default: maxInt32, Valid: atLeast(0), Importance: Medium, Mode: ClusterWide,
		Doc: "Most new connections accepted per second (KIP-612)."},
	{Name: "num.network.threads", Type: TypeInt, Default: "3", Valid: atLeast(1), Importance: High, Mode: ClusterWide,
		Doc: "samsa: accepted and ignored; each connection has its own reader and writer goroutine."},
	{Name: "num.io.threads", Type: TypeInt, Default: "8", Valid: atLeast(1), Importance: High, Mode: ClusterWide,
		Doc: "samsa: accepted and ignored; requests are handled on their connection's goroutine."},
	{Name: "background.threads", Type: TypeInt, Default: "10", Valid: atLeast(1), Importance: High, Mode: ClusterWide,
		Doc: "samsa: accepted and ignored; background work runs on goroutines owned by each component."},
	{Name: "fetch.max.bytes", Type: TypeInt, Default: "57671680", Valid: atLeast(1024), Importance: Medium,
		Doc: "Upper bound in bytes of one Fetch response, whatever the request asks for."},
	{Name: "max.incremental.fetch.session.cache.slots", Type: TypeInt, Default: "1000", Valid: atLeast(0), Importance: Medium,
		Doc: "Incremental fetch sessions (KIP-227) kept per broker."},
	{Name: "max.request.partition.size.limit", Type: TypeInt, Default: "2000", Valid: atLeast(1), Importance: Medium,
		Doc: "Most partitions one DescribeTopicPartitions response returns."},
}

// Authentication, TLS and authorization. Listener-scoped security settings
// may also be written listener.name.<name>.<key>; see Broker.ListenerConfig.
var securityDefs = []Def{
	{Name: "sasl.enabled.mechanisms", Type: TypeList, Default: "GSSAPI", Importance: Medium, Mode: PerBroker,
		Doc: "SASL mechanisms offered on SASL listeners."},
	{Name: "sasl.mechanism.inter.broker.protocol", Type: TypeString, Default: "GSSAPI", Importance: Medium, Mode: PerBroker,
		Doc: "SASL mechanism brokers use with each other."},
	{Name: "sasl.mechanism.controller.protocol", Type: TypeString, Default: "GSSAPI", Importance: High,
		Doc: "SASL mechanism nodes use with the controllers."},
	{Name: "sasl.jaas.config", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "JAAS login configuration of a SASL listener, usually set as listener.name.<listener>.<mechanism>.sasl.jaas.config."},
	{Name: "sasl.server.max.receive.size", Type: TypeInt, Default: "524288", Importance: Medium,
		Doc: "Largest frame in bytes accepted before and during SASL authentication."},
	{Name: "connections.max.reauth.ms", Type: TypeLong, Default: "0", Importance: Medium,
		Doc: "Milliseconds after which a SASL session must re-authenticate (KIP-368); 0 never."},
	{Name: "connection.failed.authentication.delay.ms", Type: TypeInt, Default: "100", Valid: atLeast(0), Importance: Low,
		Doc: "Milliseconds to wait before closing a connection whose authentication failed (KIP-306)."},
	{Name: "ssl.keystore.type", Type: TypeString, Default: "JKS", Importance: Medium, Mode: PerBroker,
		Doc: "Format of the keystore file (JKS, PKCS12 or PEM)."},
	{Name: "ssl.keystore.location", Type: TypeString, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "File holding this broker's certificate and private key."},
	{Name: "ssl.keystore.password", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "Password of the keystore file."},
	{Name: "ssl.key.password", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "Password of the private key in the keystore."},
	{Name: "ssl.keystore.certificate.chain", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "PEM certificate chain given inline instead of a keystore file."},
	{Name: "ssl.keystore.key", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "PEM private key given inline instead of a keystore file."},
	{Name: "ssl.truststore.type", Type: TypeString, Default: "JKS", Importance: Medium, Mode: PerBroker,
		Doc: "Format of the truststore file (JKS, PKCS12 or PEM)."},
	{Name: "ssl.truststore.location", Type: TypeString, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "File holding the certificate authorities trusted for client certificates."},
	{Name: "ssl.truststore.password", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "Password of the truststore file."},
	{Name: "ssl.truststore.certificates", Type: TypePassword, Null: true, Importance: Medium, Mode: PerBroker,
		Doc: "PEM trusted certificates given inline instead of a truststore file."},
	{Name: "ssl.client.auth", Type: TypeString, Default: "none", Valid: oneOf{"required", "requested", "none"}, Importance: Medium, Mode: PerBroker,
		Doc: "Whether TLS listeners ask for (requested) or demand (required) a client certificate."},
	{Name: "ssl.enabled.protocols", Type: TypeList, Default: "TLSv1.2,TLSv1.3", Importance: Medium, Mode: PerBroker,
		Doc: "TLS versions accepted; samsa supports TLSv1.2 and TLSv1.3 only."},
	{Name: "ssl.protocol", Type: TypeString, Default: "TLSv1.3", Importance: Medium, Mode: PerBroker,
		Doc: "Preferred TLS version."},
	{Name: "ssl.cipher.suites", Type: TypeList, Default: "", Importance: Medium, Mode: PerBroker,
		Doc: "TLS 1.2 cipher suites allowed; empty means Go's secure defaults."},
	{Name: "ssl.endpoint.identification.algorithm", Type: TypeString, Default: "https", Importance: Low, Mode: PerBroker,
		Doc: "Hostname verification of peer certificates on outgoing connections; empty disables it."},
	{Name: "ssl.principal.mapping.rules", Type: TypeString, Default: "DEFAULT", Importance: Low,
		Doc: "Rules mapping a client certificate's distinguished name to a principal name."},
	{Name: "principal.builder.class", Type: TypeClass, Default: defaultPrincipalType, Importance: Medium, Mode: PerBroker,
		Valid: onlyValues("samsa builds principals itself; only the default builder is accepted", defaultPrincipalType),
		Doc:   "samsa: only Kafka's default principal builder is accepted; samsa loads no plugin classes."},
	{Name: "authorizer.class.name", Type: TypeString, Default: "", Importance: Low,
		Valid: onlyValues("samsa has one built-in ACL authorizer; use "+standardAuthorizer+" or leave empty", "", standardAuthorizer, zkAuthorizer),
		Doc:   "Empty: no authorization. Kafka's StandardAuthorizer (or the ZooKeeper-era AclAuthorizer) name turns on samsa's built-in ACL authorizer."},
	{Name: "super.users", Type: TypeString, Null: true, Importance: Medium,
		Doc: "Principals that bypass ACLs, separated by semicolons: User:admin;User:broker."},
	{Name: "allow.everyone.if.no.acl.found", Type: TypeBoolean, Default: "false", Importance: Medium,
		Doc: "With the authorizer on, allow an operation on a resource that has no ACL at all."},
	{Name: "delegation.token.secret.key", Type: TypePassword, Null: true, Importance: Medium,
		Doc: "Secret for delegation tokens; samsa does not issue delegation tokens yet."},
}

// maxDouble is Java's Double.MAX_VALUE, the default of the cleaner's I/O limit.
var maxDouble = javaDouble(math.MaxFloat64)
