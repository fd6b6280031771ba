package nacos

import "net/http"

// moreRoutes registers the endpoints beyond the client's core set: batch
// and status views of instances, service search and subscribers, the
// console's catalog and namespaces, the operator's views and switches,
// and the core's cluster nodes.
func (d *Door) moreRoutes(mux *http.ServeMux) {
	const ns = "/nacos/v1/ns/"
	mux.HandleFunc("GET "+ns+"instance/statuses", d.handler(d.statuses))
	mux.HandleFunc("PUT "+ns+"instance/metadata/batch", d.handler(d.metadataBatchUpdate))
	mux.HandleFunc("DELETE "+ns+"instance/metadata/batch", d.handler(d.metadataBatchDelete))
	mux.HandleFunc("GET "+ns+"service/names", d.handler(d.serviceNames))
	mux.HandleFunc("GET "+ns+"service/subscribers", d.handler(d.subscribers))
	mux.HandleFunc("GET "+ns+"catalog/services", d.handler(d.catalogServices))
	mux.HandleFunc("GET "+ns+"catalog/instances", d.handler(d.catalogInstances))
	mux.HandleFunc("GET "+ns+"catalog/service", d.handler(d.catalogService))
	for _, op := range []string{"operator/", "ops/"} {
		mux.HandleFunc("GET "+ns+op+"switches", d.clusterView(d.switchesGet))
		mux.HandleFunc("PUT "+ns+op+"switches", d.adminOnly("switches", d.switchesPut))
		mux.HandleFunc("GET "+ns+op+"servers", d.clusterView(d.servers))
		mux.HandleFunc("GET "+ns+op+"push/state", d.clusterView(d.pushState))
	}
	mux.HandleFunc("GET "+ns+"ops/metrics", d.clusterView(d.metrics))
	mux.HandleFunc("GET /nacos/v1/core/cluster/nodes", d.clusterView(d.clusterNodes))
	const console = "/nacos/v1/console/namespaces"
	mux.HandleFunc("GET "+console, d.clusterView(d.namespaceGet))
	mux.HandleFunc("POST "+console, d.adminOnly("namespaces", d.namespaceCreate))
	mux.HandleFunc("PUT "+console, d.adminOnly("namespaces", d.namespaceUpdate))
	mux.HandleFunc("DELETE "+console, d.adminOnly("namespaces", d.namespaceDelete))
}
