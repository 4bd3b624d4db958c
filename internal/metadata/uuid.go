package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// UUID is a Kafka UUID: topic ids, cluster ids, incarnation ids.
type UUID [16]byte

// ZeroUUID is Kafka's "no id".
var ZeroUUID UUID

// NewUUID returns a random version-4 UUID that Kafka would also accept: not
// zero, and not one whose string form starts with '-' (Kafka avoids those so
// ids never look like command-line flags).
func NewUUID() UUID {
	for {
		var u UUID
		if _, err := rand.Read(u[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the runtime cannot continue safely
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		if u != ZeroUUID && u.String()[0] != '-' {
			return u
		}
	}
}

// String returns the UUID as Kafka prints it: URL-safe base64 without padding.
func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// ParseUUID parses Kafka's string form of a UUID.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("invalid uuid %q", s)
	}
	copy(u[:], b)
	return u, nil
}
