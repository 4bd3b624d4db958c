package api

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// decode reads a request body. kmsg bounds every array, string and bytes
// length by the bytes left in the body (an element takes at least one
// byte), so a hostile length cannot make it allocate more than a small
// multiple of the frame, which socket.request.max.bytes already bounds.
// Byte fields (produce records among them) are sub-slices of body, not
// copies.
func decode(req kmsg.Request, body []byte) error {
	return req.ReadFrom(body)
}
