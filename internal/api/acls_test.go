package api_test

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// Without an authorizer the ACL APIs answer as Kafka's do:
// SECURITY_DISABLED for a describe, for each creation and each deletion
// filter, never an unsupported API.
func TestACLsAnswerSecurityDisabled(t *testing.T) {
	c := clustertest.Start(t)
	adm := c.Admin(t)
	ctx := ctxT(t)

	acl := kadm.NewACLs().Allow("User:alice").AllowHosts("*").Topics("orders").Operations(kadm.OpRead)
	described, err := adm.DescribeACLs(ctx, acl)
	if err != nil || len(described) == 0 {
		t.Fatalf("describe: %v %+v", err, described)
	}
	for _, r := range described {
		if !errors.Is(r.Err, kerr.SecurityDisabled) {
			t.Errorf("describe: %v, want SECURITY_DISABLED", r.Err)
		}
	}
	created, err := adm.CreateACLs(ctx, acl)
	if err != nil || len(created) == 0 {
		t.Fatalf("create: %v %+v", err, created)
	}
	for _, r := range created {
		if !errors.Is(r.Err, kerr.SecurityDisabled) || r.ErrMessage != "No Authorizer is configured." {
			t.Errorf("create %s: %v %q, want SECURITY_DISABLED with Kafka's message", r.Principal, r.Err, r.ErrMessage)
		}
	}
	deleted, err := adm.DeleteACLs(ctx, acl)
	if err != nil || len(deleted) == 0 {
		t.Fatalf("delete: %v %+v", err, deleted)
	}
	for _, r := range deleted {
		if !errors.Is(r.Err, kerr.SecurityDisabled) {
			t.Errorf("delete: %v, want SECURITY_DISABLED", r.Err)
		}
	}
}
