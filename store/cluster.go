package store

import (
	"fmt"
	"strings"
)

// Bounds of a cluster's settings, checked on every write, local or from
// a peer.
const (
	maxCheckPath    = 512
	maxCheckHeaders = 2048
)

// Check reports the first invalid field of c (its JSON name) and why,
// or "" when c is valid.
func (c *ClusterInfo) Check() (field, reason string) {
	hc := c.HealthChecker
	switch hc.Type {
	case CheckTCP, CheckNone:
		if hc.Path != "" || hc.Headers != "" || hc.ExpectedCode != 0 {
			return "healthChecker", "path, headers and expectedResponseCode belong to an HTTP check only"
		}
	case CheckHTTP:
		if len(hc.Path) > maxCheckPath || (hc.Path != "" && !strings.HasPrefix(hc.Path, "/")) ||
			strings.ContainsAny(hc.Path, " \r\n\t") {
			return "healthChecker.path", fmt.Sprintf("must be empty or a URL path starting with / of at most %d bytes, without spaces", maxCheckPath)
		}
		if len(hc.Headers) > maxCheckHeaders || strings.ContainsAny(hc.Headers, "\r\n") {
			return "healthChecker.headers", fmt.Sprintf("at most %d bytes of Name:value|Name:value, on one line", maxCheckHeaders)
		}
		if hc.ExpectedCode < 100 || hc.ExpectedCode > 599 {
			return "healthChecker.expectedResponseCode", fmt.Sprintf("%d is not an HTTP status code", hc.ExpectedCode)
		}
	default:
		return "healthChecker.type", fmt.Sprintf("%q is not TCP, HTTP or NONE", hc.Type)
	}
	if c.CheckPort < 0 || c.CheckPort > 65535 || (!c.UseInstancePort && c.CheckPort == 0) {
		return "checkPort", fmt.Sprintf("%d is not a port in 1..65535", c.CheckPort)
	}
	return "", ""
}
