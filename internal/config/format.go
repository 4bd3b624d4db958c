package config

// FormatRequest is what kafka-storage.sh format asks of a node's
// directories: the cluster id they belong to and the metadata quorum's
// initial voters, when the configuration names bootstrap servers instead
// of controller.quorum.voters (KIP-853). The cli package builds it and the
// broker package carries it out.
type FormatRequest struct {
	ClusterID string
	// Standalone makes this node the only initial voter, at its advertised
	// controller listener.
	Standalone bool
	// InitialControllers are the initial voters (--initial-controllers);
	// DirectoryIDs[i] is voter i's metadata directory id, zero if not given.
	InitialControllers []Voter
	DirectoryIDs       [][16]byte
	// NoInitialControllers formats without voters: a broker, or a
	// controller that finds its voters from the bootstrap servers.
	NoInitialControllers bool
	// IgnoreFormatted skips directories that have meta.properties instead
	// of failing.
	IgnoreFormatted bool
}
