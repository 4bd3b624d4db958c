package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/kclient"
)

// Forwarding to a remote active controller (KIP-590's Envelope): the inner
// request, with its header, travels as the envelope's RequestData; the
// controller answers with the inner response in ResponseData, or with
// NOT_CONTROLLER on the envelope when it is not the active controller, in
// which case the client looks the controller up again and retries.

// errNotController means the node asked is not the active controller.
var errNotController = errors.New("not the active controller")

// EncodeResponse frames resp with its response header, as it travels inside
// an envelope response.
func EncodeResponse(resp kmsg.Response, correlationID int32) []byte {
	return kclient.AppendResponse(nil, resp, correlationID)
}

// forward sends req to the controller at addr inside an envelope.
func forward(ctx context.Context, pool *kclient.Pool, clientID, addr string, req kmsg.Request) (kmsg.Response, error) {
	if req.GetVersion() < 0 || req.GetVersion() > req.MaxVersion() {
		req.SetVersion(req.MaxVersion())
	}
	const innerCorrelation = 1 // the envelope's own correlation id does the matching
	env := kmsg.NewPtrEnvelopeRequest()
	env.RequestData = kclient.AppendRequest(nil, req, innerCorrelation, clientID)
	env.ClientHostAddress, env.RequestPrincipal = []byte{}, []byte{}
	resp, err := pool.Request(ctx, addr, env)
	if err != nil {
		return nil, err
	}
	envResp := resp.(*kmsg.EnvelopeResponse)
	switch {
	case envResp.ErrorCode == kerr.NotController.Code:
		return nil, errNotController
	case envResp.ErrorCode != 0:
		return nil, fmt.Errorf("controller envelope: %w", kerr.ErrorForCode(envResp.ErrorCode))
	}
	return kclient.DecodeResponse(req, envResp.ResponseData)
}
