package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// No client quotas can be set, so DescribeClientQuotas finds none; its
// filter is still checked as Kafka checks it.
func TestDescribeClientQuotasIsEmpty(t *testing.T) {
	c := clustertest.Start(t)
	ctx := ctxT(t)
	cl := c.Client(t)
	user := "alice"
	described, err := kadm.NewClient(cl).DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{
		{Type: "user", MatchName: &user, MatchType: kmsg.QuotasMatchTypeExact},
	})
	if err != nil || len(described) != 0 {
		t.Fatalf("describe: %v, %+v; want no quotas", err, described)
	}

	comp := func(typ string, mt kmsg.QuotasMatchType, match *string) kmsg.DescribeClientQuotasRequestComponent {
		c := kmsg.NewDescribeClientQuotasRequestComponent()
		c.EntityType, c.MatchType, c.Match = typ, mt, match
		return c
	}
	specified := kmsg.QuotasMatchTypeAny
	for _, tc := range []struct {
		name  string
		comps []kmsg.DescribeClientQuotasRequestComponent
		want  *kerr.Error
	}{
		{"no filter", nil, nil},
		{"any user and client", []kmsg.DescribeClientQuotasRequestComponent{comp("user", specified, nil), comp("client-id", kmsg.QuotasMatchTypeDefault, nil)}, nil},
		{"empty type", []kmsg.DescribeClientQuotasRequestComponent{comp("", specified, nil)}, kerr.InvalidRequest},
		{"type twice", []kmsg.DescribeClientQuotasRequestComponent{comp("user", specified, nil), comp("user", kmsg.QuotasMatchTypeExact, &user)}, kerr.InvalidRequest},
		{"custom type", []kmsg.DescribeClientQuotasRequestComponent{comp("tenant", specified, nil)}, kerr.UnsupportedVersion},
		{"exact without a name", []kmsg.DescribeClientQuotasRequestComponent{comp("user", kmsg.QuotasMatchTypeExact, nil)}, kerr.InvalidRequest},
		{"default with a name", []kmsg.DescribeClientQuotasRequestComponent{comp("user", kmsg.QuotasMatchTypeDefault, &user)}, kerr.InvalidRequest},
		{"unknown match type", []kmsg.DescribeClientQuotasRequestComponent{comp("user", 7, nil)}, kerr.InvalidRequest},
		{"ip with user", []kmsg.DescribeClientQuotasRequestComponent{comp("ip", specified, nil), comp("user", specified, nil)}, kerr.InvalidRequest},
	} {
		for _, strict := range []bool{false, true} {
			req := kmsg.NewPtrDescribeClientQuotasRequest()
			req.Components, req.Strict = tc.comps, strict
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var wantCode int16
			if tc.want != nil {
				wantCode = tc.want.Code
			}
			switch {
			case resp.ErrorCode != wantCode:
				t.Errorf("%s (strict %v): %v (%v), want %v", tc.name, strict, kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage), tc.want)
			case tc.want == nil && (resp.Entries == nil || len(resp.Entries) != 0):
				t.Errorf("%s (strict %v): entries %+v, want an empty list", tc.name, strict, resp.Entries)
			case tc.want != nil && (resp.ErrorMessage == nil || resp.Entries != nil):
				t.Errorf("%s (strict %v): message %v, entries %+v; want a message and no entries", tc.name, strict, deref(resp.ErrorMessage), resp.Entries)
			}
		}
	}
}
