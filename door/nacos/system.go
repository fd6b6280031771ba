package nacos

import (
	"context"
	"errors"
	"maps"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The door's own cluster-wide state (created namespaces, switches) is
// kept as service records in a reserved namespace, so it travels the
// same way services do: replicated to every node on write, repaired by
// anti-entropy, copied by a joining node's start-up sync, and kept with
// the registry wherever the registry is kept. A namespace is the service
// namespaces/<id> whose metadata holds its name and description; the
// switches are the metadata of the service switches/naming.
//
// The reserved namespace is refused on every Nacos parameter and left out
// of every Nacos listing.

// systemNamespace is the reserved namespace.
const systemNamespace = "roster-system"

// Groups and keys of the door's records.
const (
	namespacesGroup = "namespaces"
	switchesGroup   = "switches"
	switchesService = "naming"
	mdName          = "name"
	mdDesc          = "desc"
)

// namespaceKey is the record of created namespace id.
func namespaceKey(id string) store.Key {
	return store.Key{Namespace: systemNamespace, Group: namespacesGroup, Service: id}
}

// switchesKey is the record of the switches.
var switchesKey = store.Key{Namespace: systemNamespace, Group: switchesGroup, Service: switchesService}

// checkNamespace refuses the reserved namespace in a request.
func checkNamespace(field, ns string) error {
	if ns == systemNamespace {
		return &param.FieldError{Field: field, Reason: "namespace " + systemNamespace + " is reserved"}
	}
	return nil
}

// putSystem sets the metadata keys of record k (creating it), replicated
// like any service write.
func (d *Door) putSystem(ctx context.Context, k store.Key, set map[string]string) error {
	apply := func(info *store.ServiceInfo) {
		md := maps.Clone(info.Metadata)
		if md == nil {
			md = map[string]string{}
		}
		maps.Copy(md, set)
		info.Metadata = md
	}
	for range 3 { // a racing create or delete elsewhere: try again
		err := d.core.UpdateService(ctx, k, apply)
		if !errors.Is(err, store.ErrServiceNotFound) {
			return err
		}
		info := store.ServiceInfo{}
		apply(&info)
		err = d.core.CreateService(ctx, k, info)
		if !errors.Is(err, store.ErrServiceExists) {
			return err
		}
	}
	return errors.New("nacos: concurrent writes of " + k.String() + " did not settle; try again")
}
