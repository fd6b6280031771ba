package native

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// registerBatch handles POST /v1/instances/batch: up to
// api.MaxBatchInstances registrations in one request (the body bounded by
// MaxBodyBytes), of any services and namespaces, answered one result per
// instance in order. Every instance is checked, and authorised as its
// own POST /v1/instance would be, before any is written: one invalid or
// forbidden instance, or one named twice, refuses the whole batch with
// the status a single registration would get, naming the field
// (instances[3].port), and writes nothing. A limit
// (--max-instances-per-service and the like) refuses single items: their
// results carry the 409 a single registration would get. The node
// applies the batch together and answers once a peer holds every
// instance written.
func (d *Door) registerBatch(w http.ResponseWriter, r *http.Request) {
	var req api.BatchRegisterRequest
	if err := gate.DecodeJSON(r, &req, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	if n := len(req.Instances); n == 0 || n > api.MaxBatchInstances {
		gate.JSONError(w, &param.FieldError{Field: "instances", Reason: fmt.Sprintf("holds %d instances; want 1 to %d", n, api.MaxBatchInstances)})
		return
	}
	items, err := d.batchItems(r, req.Instances)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	outs, err := d.core.RegisterMany(r.Context(), items)
	var ie *node.ItemError
	if errors.As(err, &ie) {
		err = prefixField(itemField(ie.Index), ie.Err)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	reply := api.BatchRegisterReply{Results: make([]api.RegisterResult, len(outs)), Index: d.core.Index()}
	for i, o := range outs {
		if o.Err != nil {
			reply.Results[i] = api.RegisterResult{Status: gate.StatusOf(o.Err), Error: o.Err.Error()}
			continue
		}
		j := toJSON(items[i].Key, &o.Instance)
		reply.Results[i] = api.RegisterResult{Instance: &j}
	}
	gate.WriteJSON(w, http.StatusOK, reply)
}

// batchItems checks and authorises every instance of a batch, refusing
// an instance named twice.
func (d *Door) batchItems(r *http.Request, ins []api.Instance) ([]store.RegisterItem, error) {
	type id struct {
		k  store.Key
		ik store.InstanceKey
	}
	seen := make(map[id]int, len(ins))
	items := make([]store.RegisterItem, len(ins))
	for i := range ins {
		k, in, err := nativeInstance(&ins[i])
		if err != nil {
			return nil, prefixField(itemField(i), err)
		}
		if first, dup := seen[id{k, in.InstanceKey}]; dup {
			return nil, &param.FieldError{Field: "instances[" + strconv.Itoa(i) + "]", Reason: fmt.Sprintf("names the same instance as instances[%d]", first)}
		}
		seen[id{k, in.InstanceKey}] = i
		if err := d.allow(r, gate.Write, k); err != nil {
			return nil, fmt.Errorf("instances[%d]: %w", i, err)
		}
		items[i] = store.RegisterItem{Key: k, In: in}
	}
	return items, nil
}

// itemField is the prefix of the fields of instance i of a batch.
func itemField(i int) string { return "instances[" + strconv.Itoa(i) + "]." }
