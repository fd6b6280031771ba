package api

import "strconv"

// The key format. Every node places a service on the ring by its service
// key, so a client that computes owners must build exactly the same
// string. Names are never empty and never contain "@@" (the server refuses
// them), so the formats are unambiguous.

// ServiceKey returns the key the ring hashes for a service,
// "namespace##group@@service". The caller applies the defaults first.
func ServiceKey(namespace, group, service string) string {
	return namespace + "##" + group + "@@" + service
}

// Grouped returns Nacos' grouped service name, "group@@service".
func Grouped(group, service string) string { return group + "@@" + service }

// InstanceID returns Nacos' instance id, "ip#port#cluster#group@@service".
func InstanceID(ip string, port int, cluster, group, service string) string {
	return ip + "#" + strconv.Itoa(port) + "#" + cluster + "#" + Grouped(group, service)
}
