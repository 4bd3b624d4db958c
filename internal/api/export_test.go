package api

// What the external tests (package api_test) use of the package's own
// test helpers.

// GuardEncode is guardEncode: kmsg's encoding of request key at version,
// default-valued or, with rich, every field set.
func GuardEncode(key, version int16, rich bool) []byte { return guardEncode(key, version, rich) }

// GuardAccepts reports whether the guard lets body through as request key
// at version, which is what decides whether a handler sees it.
func GuardAccepts(key, version int16, body []byte) bool {
	_, err := guardScan(key, version, body)
	return err == nil
}

// NextSessionEpoch is nextSessionEpoch.
func NextSessionEpoch(e int32) int32 { return nextSessionEpoch(e) }

// CountErrors is countErrors.
var CountErrors = countErrors
