package api

import (
	"reflect"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/metrics"
)

// Error counts (Kafka's ErrorsPerSec). Kafka counts, for each response,
// the error codes it carries, NONE included: a produce response to three
// partitions counts three, a metadata response a code per topic and per
// partition. samsa counts every ErrorCode field of the kmsg response, at
// any depth, which is the same but for a few top-level codes Kafka's
// per-API counts leave out (Metadata's, from v13); Fetch, encoded by hand,
// counts its own (countFetchErrors). The walk follows a plan made once per
// response type, which lists only the fields that lead to an error code.

// errorPlan is where a struct type's error codes are: its int16 ErrorCode
// fields, and the fields (structs, slices of them, pointers to them) that
// hold more.
type errorPlan struct {
	codes  []int // indexes of ErrorCode fields
	nested []nestedPlan
}

type nestedPlan struct {
	index int
	plan  *errorPlan
}

var errorPlans sync.Map // reflect.Type of a struct → *errorPlan (nil: no error codes)

// errorPlanFor returns t's plan, nil when t holds no error code.
func errorPlanFor(t reflect.Type) *errorPlan {
	if p, ok := errorPlans.Load(t); ok {
		return p.(*errorPlan)
	}
	p := buildErrorPlan(t, map[reflect.Type]bool{})
	errorPlans.Store(t, p)
	return p
}

// buildErrorPlan makes t's plan; seen holds the types being built above
// it, so that a type that contains itself ends the walk.
func buildErrorPlan(t reflect.Type, seen map[reflect.Type]bool) *errorPlan {
	if seen[t] {
		return nil
	}
	seen[t] = true
	defer delete(seen, t)
	p := &errorPlan{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "ErrorCode" && f.Type.Kind() == reflect.Int16 {
			p.codes = append(p.codes, i)
			continue
		}
		elem := f.Type
		for elem.Kind() == reflect.Slice || elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() != reflect.Struct {
			continue
		}
		if sub := buildErrorPlan(elem, seen); sub != nil {
			p.nested = append(p.nested, nestedPlan{i, sub})
		}
	}
	if len(p.codes) == 0 && len(p.nested) == 0 {
		return nil
	}
	return p
}

// countErrors counts the error codes of resp, a response to API key, into
// q.
func countErrors(q *metrics.Requests, key int16, resp kmsg.Response) {
	v := reflect.ValueOf(resp)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if p := errorPlanFor(v.Type()); p != nil {
		walkErrors(q, key, v, p)
	}
}

func walkErrors(q *metrics.Requests, key int16, v reflect.Value, p *errorPlan) {
	for _, i := range p.codes {
		q.CountError(key, false, int16(v.Field(i).Int()))
	}
	for _, n := range p.nested {
		walkNested(q, key, v.Field(n.index), n.plan)
	}
}

// walkNested walks a field of a struct, a slice of them or a pointer to
// one (or a slice of pointers, and so on).
func walkNested(q *metrics.Requests, key int16, v reflect.Value, p *errorPlan) {
	switch v.Kind() {
	case reflect.Struct:
		walkErrors(q, key, v, p)
	case reflect.Pointer:
		if !v.IsNil() {
			walkNested(q, key, v.Elem(), p)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkNested(q, key, v.Index(i), p)
		}
	}
}

// countFetchErrors counts a fetch response's codes: the response's own
// and each partition's.
func countFetchErrors(q *metrics.Requests, key int16, follower bool, r *fetchResp) {
	q.CountError(key, follower, r.errorCode)
	for i := range r.topics {
		for j := range r.topics[i].partitions {
			q.CountError(key, follower, r.topics[i].partitions[j].errorCode)
		}
	}
}
