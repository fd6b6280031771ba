package grpcdoor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// Unary requests (/Request/request). Every request gets a Payload back,
// never a gRPC error: an unknown type gets Nacos' ErrorResponse with code
// 302, a malformed body one with 400 naming what is wrong, a request on a
// transport that has not set up its connection one with 301 (clients
// reconnect), a node that is not ready one with 300 (clients retry).

// handler handles one request type: it decodes body and returns the
// response and its type.
type handler struct {
	write  bool // changes the registry: needs a token whenever ACLs are on
	respTy string
	handle func(d *Door, ctx context.Context, c *conn, body []byte) (any, error)
}

// handlers are the request types served, by type.
var handlers = map[string]handler{
	"HealthCheckRequest":        {respTy: "HealthCheckResponse", handle: (*Door).healthCheck},
	"InstanceRequest":           {write: true, respTy: "InstanceResponse", handle: (*Door).instance},
	"PersistentInstanceRequest": {write: true, respTy: "InstanceResponse", handle: (*Door).persistentInstance},
	"BatchInstanceRequest":      {write: true, respTy: "BatchInstanceResponse", handle: (*Door).batchInstance},
	"SubscribeServiceRequest":   {respTy: "SubscribeServiceResponse", handle: (*Door).subscribe},
	"ServiceQueryRequest":       {respTy: "QueryServiceResponse", handle: (*Door).query},
	"ServiceListRequest":        {respTy: "ServiceListResponse", handle: (*Door).serviceList},
}

type requestServer struct {
	pb.UnimplementedRequestServer
	d *Door
}

func (s requestServer) Request(ctx context.Context, p *pb.Payload) (*pb.Payload, error) {
	d := s.d
	start := d.cfg.Now()
	typ := p.GetMetadata().GetType()
	out, code := d.request(ctx, p)
	d.metrics.observe(typ, code, d.cfg.Now().Sub(start))
	return out, nil
}

// request answers one unary request and returns the answer's code.
func (d *Door) request(ctx context.Context, p *pb.Payload) (*pb.Payload, int) {
	typ := p.GetMetadata().GetType()
	body := p.GetBody().GetValue()
	var head request
	_ = json.Unmarshal(body, &head) // for the request id; the handler reports a bad body
	fail := func(code int, msg string) (*pb.Payload, int) {
		e := errorResponse(code, msg)
		e.RequestID = head.RequestID
		return payload("ErrorResponse", e), code
	}
	c := connOf(ctx)
	if c == nil {
		return fail(codeFail, "grpcdoor: request without a connection")
	}
	c.touch()
	if app := header(p, "app"); app != "" {
		c.setApp(app)
	}
	if !d.core.Synced() {
		return fail(codeServerStatus, "server is starting: "+node.ErrNotReady.Error()+"; try later")
	}
	if typ == "ServerCheckRequest" {
		return payload("ServerCheckResponse", serverCheckResponse{response: withID(ok(), head.RequestID), ConnectionID: c.id}), codeSuccess
	}
	h, found := handlers[typ]
	if !found {
		d.metrics.unknown.Inc()
		return fail(codeNoHandler, "RequestHandler Not Found: unknown request type "+quote(typ))
	}
	if !c.isSetup() {
		return fail(codeUnregistered, "Connection is unregistered: send ConnectionSetupRequest on the stream first")
	}
	if len(body) == 0 || !json.Valid(body) {
		d.metrics.malformed.Inc()
		return fail(codeInvalidParam, "malformed JSON body of "+typ)
	}
	if err := d.authorize(p, c, h.write, body); err != nil {
		r := failed(codeNoRight, err.Error())
		r.RequestID = head.RequestID
		return payload(h.respTy, r), codeNoRight
	}
	release, err := d.gate.Acquire()
	if err != nil {
		return fail(codeOverThreshold, err.Error())
	}
	defer release()
	resp, err := h.handle(d, ctx, c, body)
	if err != nil {
		code := gate.StatusOf(err)
		if code == 500 && errors.Is(err, errBadBody) {
			code = codeInvalidParam
		}
		return fail(code, err.Error())
	}
	return payload(h.respTy, setID(resp, head.RequestID)), codeSuccess
}

// authorize is the gate's decision on one request: its accessToken
// header, on the namespace, group and service its body names.
func (d *Door) authorize(p *pb.Payload, c *conn, write bool, body []byte) error {
	if !d.gate.ACLEnabled() {
		return nil // no body to decode for the decision
	}
	var nr namingRequest
	_ = json.Unmarshal(body, &nr) // a bad body is the handler's to report
	res := gate.Resource{Namespace: strings.TrimSpace(nr.Namespace), Group: strings.TrimSpace(nr.GroupName), Service: strings.TrimSpace(nr.ServiceName)}
	if res.Namespace == "" {
		res.Namespace = store.DefaultNamespace
	}
	if res.Group == "" && res.Service != "" {
		res.Group = store.DefaultGroup
	}
	act := gate.Read
	if write {
		act = gate.Write
	}
	host, _, err := net.SplitHostPort(c.remote)
	if err != nil {
		host = c.remote
	}
	return d.gate.CheckToken(strings.TrimSpace(header(p, "accessToken")), host, act, res)
}

// header returns the value of header name, whatever its case.
func header(p *pb.Payload, name string) string {
	for k, v := range p.GetMetadata().GetHeaders() {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

var errBadBody = errors.New("grpcdoor: malformed JSON body")

// decode reads body into v, naming typ in its error.
func decode(body []byte, typ string, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w of %s: %v", errBadBody, typ, err)
	}
	return nil
}

func withID(r response, id string) response {
	r.RequestID = id
	return r
}

// setID sets the request id of a handler's response.
func setID(resp any, id string) any {
	switch r := resp.(type) {
	case *response:
		r.RequestID = id
	case *instanceResponse:
		r.RequestID = id
	case *serviceResponse:
		r.RequestID = id
	case *serviceListResponse:
		r.RequestID = id
	}
	return resp
}

func (d *Door) healthCheck(_ context.Context, _ *conn, _ []byte) (any, error) {
	r := ok()
	return &r, nil
}
