package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Query selects the instances of one service.
type Query struct {
	Service
	// Cluster, if set, selects one cluster of the service.
	Cluster string
	// HealthyOnly leaves out unhealthy and disabled instances.
	HealthyOnly bool
}

// values renders q as query parameters.
func (q Query) values() (url.Values, error) {
	if q.Name == "" {
		return nil, errors.New("client: query: Service.Name is empty")
	}
	v := url.Values{"service": {q.Name}}
	for k, s := range map[string]string{"namespace": q.Namespace, "group": q.Group, "cluster": q.Cluster} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.HealthyOnly {
		v.Set("healthyOnly", "true")
	}
	return v, nil
}

// List returns the instances of a service, sorted by cluster, ip and port,
// as any node (with failover) holds them. Unlike Nacos' instance/list it
// applies no protect threshold.
func (c *Client) List(ctx context.Context, q Query) ([]Instance, error) {
	v, err := q.values()
	if err != nil {
		return nil, err
	}
	var body listBody
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/instances", query: v}, &body); err != nil {
		return nil, err
	}
	return body.instances(), nil
}

// listAt asks one node for the list, blocking until its index passes
// index (when index > 0) or wait elapses.
func (c *Client) listAt(ctx context.Context, base *url.URL, v url.Values, index uint64, wait time.Duration) (listBody, error) {
	req := request{method: http.MethodGet, path: "/v1/instances", query: v}
	if index > 0 {
		q := url.Values{}
		for k, vs := range v {
			q[k] = vs
		}
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", wait.String())
		req.query, req.wait = q, wait+wait/16
	}
	ans, err := c.sendTo(ctx, base, req)
	if err != nil {
		return listBody{}, err
	}
	var body listBody
	if err := jsonUnmarshal(ans.body, &body); err != nil {
		return listBody{}, err
	}
	body.Index = max(body.Index, ans.index)
	return body, nil
}
