package api

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// decode reads a request body into req, whose version is set.
//
// The request guard (guard.go) reads the body first and rejects what kmsg
// could not decode, in time linear in the body: kmsg's tagged-field loops
// run as many times as a count in the body says even after the body is
// exhausted, so a few bytes could otherwise keep ReadFrom busy for minutes.
// What the guard accepts, ReadFrom decodes without error in linear time.
//
// kmsg bounds every array, string and bytes length by the bytes left in the
// body (an element takes at least one byte), and behind the guard an array
// count reaches kmsg only when its elements are all there, so decoding
// allocates a small multiple of the frame, which socket.request.max.bytes
// already bounds. Byte fields (produce records among them) are sub-slices
// of body, not copies. As with kmsg, bytes after the request are ignored.
func decode(req kmsg.Request, body []byte) error {
	if err := guardRequestBody(req.Key(), req.GetVersion(), body); err != nil {
		return err
	}
	return req.ReadFrom(body)
}
