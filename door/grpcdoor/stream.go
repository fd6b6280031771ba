package grpcdoor

import (
	"context"
	"encoding/json"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roster-io/roster/door/grpcdoor/pb"
)

// The bi-stream: the client sends ConnectionSetupRequest first, then only
// answers to the server's requests; the server sends its requests
// (NotifySubscriberRequest, ClientDetectionRequest, ConnectResetRequest).
// One writer goroutine per stream sends, since a gRPC stream takes one
// sender at a time. The stream's end ends the connection: its transport
// is closed, so its instances go at once.

type streamServer struct {
	pb.UnimplementedBiRequestStreamServer
	d *Door
}

func (s streamServer) RequestBiStream(stream pb.BiRequestStream_RequestBiStreamServer) error {
	d := s.d
	c := connOf(stream.Context())
	if c == nil {
		return status.Error(codes.Internal, "grpcdoor: stream without a connection")
	}
	c.mu.Lock()
	if c.streaming || c.closed {
		c.mu.Unlock()
		return status.Error(codes.AlreadyExists, "grpcdoor: this connection already has its stream; open a new connection")
	}
	c.streaming = true
	c.mu.Unlock()
	done := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.write(stream, done)
	}()
	for {
		p, err := stream.Recv()
		if err != nil {
			break
		}
		d.onStream(c, p)
	}
	close(done)
	<-writerDone
	c.closeTransport()
	return nil
}

// write sends the connection's server requests and pushes until done.
func (c *conn) write(stream pb.BiRequestStream_RequestBiStreamServer, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-c.d.ctx.Done():
			return
		case p := <-c.out:
			if err := stream.Send(p); err != nil {
				return
			}
		case <-c.wake:
			for _, p := range c.d.hub.pushes(c) {
				if err := stream.Send(p); err != nil {
					return
				}
				c.d.metrics.pushes.Inc()
			}
		}
	}
}

// signal wakes the writer to send pending pushes.
func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// onStream handles one payload from the client's stream.
func (d *Door) onStream(c *conn, p *pb.Payload) {
	typ := p.GetMetadata().GetType()
	body := p.GetBody().GetValue()
	c.touch()
	switch {
	case typ == "ConnectionSetupRequest":
		var req setupRequest
		if err := json.Unmarshal(body, &req); err != nil {
			d.metrics.malformed.Inc()
			d.cfg.Logger.Info("grpc: malformed ConnectionSetupRequest", "conn", c.id, "err", err)
			c.send(payload("ErrorResponse", errorResponse(codeInvalidParam, "malformed JSON body of ConnectionSetupRequest: "+err.Error())))
			return
		}
		d.setup(c, req)
	case strings.HasSuffix(typ, "Response"):
		var r response
		if err := json.Unmarshal(body, &r); err != nil {
			d.metrics.malformed.Inc()
			return
		}
		d.ack(c, typ, r.RequestID)
	default:
		d.metrics.unknown.Inc()
		var r request
		_ = json.Unmarshal(body, &r)
		e := errorResponse(codeNoHandler, "RequestHandler Not Found: the stream takes ConnectionSetupRequest and responses to server requests, not "+quote(typ))
		e.RequestID = r.RequestID
		c.send(payload("ErrorResponse", e))
	}
}

// setup makes c a connection: it may register instances and subscribe.
// A node that is not ready, or leaves, asks the client to go elsewhere.
func (d *Door) setup(c *conn, req setupRequest) {
	if !d.core.Ready() {
		c.send(payload("ConnectResetRequest", resetRequest{
			request: request{RequestID: d.nextPushID(), Module: "internal"}, ConnectionID: c.id}))
		return
	}
	c.mu.Lock()
	if c.setup || c.closed {
		c.mu.Unlock()
		return
	}
	c.setup = true
	c.version, c.labels = req.ClientVersion, req.Labels
	if c.timer != nil {
		c.timer.Stop()
	}
	d.leases.Open(c.id)
	c.release = func(ctx context.Context) {
		if d.leaving.Load() {
			return
		}
		d.leases.Release(ctx, c.id)
	}
	c.mu.Unlock()
	d.metrics.setups.Inc()
	d.cfg.Logger.Debug("grpc connection set up", "conn", c.id, "client", req.ClientVersion)
}

// ack records the client's answer to a server request.
func (d *Door) ack(c *conn, typ, id string) {
	c.mu.Lock()
	w, ok := c.unacked[id]
	delete(c.unacked, id)
	c.mu.Unlock()
	if ok && !w.reset {
		d.metrics.acks.Inc()
	}
}

// quote returns typ for a message, bounded.
func quote(typ string) string {
	if len(typ) > 64 {
		typ = typ[:64] + "..."
	}
	return "\"" + strings.ToValidUTF8(typ, "?") + "\""
}
