// Package param parses and validates the request parameters of the Nacos 1.x
// v1 naming HTTP API.
//
// Nacos clients do not agree on how to encode parameters. The Java client and
// curl URL-escape them, but nacos-sdk-go builds PUT bodies, GET queries and
// DELETE queries by raw concatenation: a heartbeat body looks like
//
//	namespaceId=public&serviceName=DEFAULT_GROUP@@svc&beat={"ip":"1.2.3.4","metadata":{"a":"x&y=z%20"}}
//
// where the JSON may hold '&', '=', '%' and '+' inside its strings. Parse is
// therefore tolerant: a value that starts with a raw '{' or '[' is taken as one
// balanced JSON value, verbatim, and every other value is URL-unescaped when
// it is well formed and kept as sent when it is not. As in the Servlet API a
// parameter may come from the query string or the form body, and the first
// occurrence wins.
//
// The validation helpers (Name, ServiceName, IP, Port, Weight, Metadata, ...)
// turn raw strings into typed values and report problems as *FieldError, which
// names the offending parameter so that callers can answer 400 with a clear
// message.
package param
