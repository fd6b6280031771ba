// Package consul tests roster's Consul-compatible read API with Consul's
// official Go client, github.com/hashicorp/consul/api, pinned in this
// nested module so the client's dependencies stay out of roster's go.mod.
package consul
