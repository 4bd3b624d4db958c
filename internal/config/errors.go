package config

// Error is a configuration problem: a value that fails parsing or
// validation, an unknown topic config, or settings that contradict each
// other. Keys names the properties involved, the first being the one to fix.
// Error() uses Kafka's wording where Kafka has one, so the api package can
// return it as the message of an INVALID_CONFIG error unchanged.
type Error struct {
	Keys []string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// invalid is Kafka's ConfigException(name, value, reason) text.
func invalid(name, value, reason string) *Error {
	return &Error{Keys: []string{name}, Msg: "Invalid value " + value + " for configuration " + name + ": " + reason}
}

// conflict reports a cross-field rule; msg must mention every key.
func conflict(msg string, keys ...string) *Error {
	return &Error{Keys: keys, Msg: msg}
}

// Warning is a problem that does not stop the broker: an unknown key, a
// ZooKeeper-era key, a removed Kafka setting. The caller logs it, e.g.
// log.Warn(w.Message, "key", w.Key).
type Warning struct {
	Key     string // the property name as written (for env vars, the variable name)
	Message string
}

func (w Warning) String() string { return w.Key + ": " + w.Message }
