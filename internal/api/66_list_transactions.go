package api

// ListTransactions, versions 0–2 (KIP-664, KIP-994, KIP-1152).
//
// samsa has no transaction coordinator yet (FindCoordinator for a
// transactional id is refused), so no broker ever has a transaction to
// list: the answer is empty, with the filters checked as Kafka checks
// them. State filters that name no transaction state come back in
// UnknownStateFilters; a transactional-id pattern that is not a valid
// regular expression is INVALID_REGULAR_EXPRESSION. kafka-transactions.sh
// list and the admin clients' listTransactions send this to every broker.

import (
	"context"
	"regexp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

// transactionStates are the states of Kafka's TransactionState.
var transactionStates = []string{
	"Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
	"CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence",
}

func (h *Handler) listTransactions(_ context.Context, c *call) (wire.Reply, error) {
	req := c.msg.(*kmsg.ListTransactionsRequest)
	resp := kmsg.NewPtrListTransactionsResponse()
	if p := req.TransactionalIDPattern; p != nil && *p != "" {
		if _, err := regexp.Compile(*p); err != nil {
			resp.ErrorCode = kerr.InvalidRegularExpression.Code
			return c.respond(resp), nil
		}
	}
	for _, s := range req.StateFilters {
		if !slices.Contains(transactionStates, s) {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
		}
	}
	return c.respond(resp), nil
}
