package node

import (
	"errors"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The write path. Every API that changes the registry goes through these
// methods, so the cluster issue has one place to replicate from and one
// place to refuse writes while the node leaves.

// register stores a new registration of in.
func (n *Node) register(k store.Key, in store.Instance) (store.Instance, error) {
	if !n.writable() {
		return store.Instance{}, errShuttingDown
	}
	return n.store.Register(k, in)
}

// deregister removes an instance.
func (n *Node) deregister(k store.Key, ik store.InstanceKey) error {
	if !n.writable() {
		return errShuttingDown
	}
	_, err := n.store.Deregister(k, ik)
	return err
}

// update changes an instance in place.
func (n *Node) update(k store.Key, ik store.InstanceKey, fn func(*store.Instance)) (store.Instance, error) {
	if !n.writable() {
		return store.Instance{}, errShuttingDown
	}
	return n.store.Update(k, ik, fn)
}

// beat records a heartbeat. When the instance is unknown and reregister is
// not nil, the instance is registered from it (Nacos' compensation). found
// is false when the instance is unknown and nothing re-registered it.
func (n *Node) beat(k store.Key, ik store.InstanceKey, reregister *store.Instance) (in store.Instance, found bool, err error) {
	if !n.writable() {
		return store.Instance{}, false, errShuttingDown
	}
	res, err := n.store.Beat(k, ik)
	if err == nil {
		return res.Instance, true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Instance{}, false, err
	}
	if reregister == nil {
		return store.Instance{}, false, nil
	}
	in, err = n.store.Register(k, *reregister)
	if err != nil {
		return store.Instance{}, false, err
	}
	n.log.Debug("instance re-registered by beat", "service", k.String(), "instance", in.ID(k))
	return in, true, nil
}

// checkedMetadata applies the metadata limits to metadata that arrived
// already decoded (in a JSON body).
func checkedMetadata(field string, md map[string]string) (map[string]string, error) {
	if md == nil {
		return map[string]string{}, nil
	}
	if err := param.CheckMetadata(field, md); err != nil {
		return nil, err
	}
	return md, nil
}
