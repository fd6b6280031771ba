package peer

import (
	"encoding/json"
	"net/http"

	"github.com/tinylib/msgp/msgp"
)

// Which bodies a stream carries as MessagePack beyond those every build
// decodes so (deltas, dumps, pulls, summaries: wire.go). The dialer names
// them in the upgrade request (streamMsgpackHeader, a comma-separated
// list of tokens); the acceptor agrees by naming back those it knows. A
// build that predates the header names nothing back, and each body it
// did not agree to stays JSON both ways. Both sides of an agreed stream
// may send the agreed bodies as MessagePack; the agreement is part of
// the session key (stream_dial.go), so a handshake altered on the way
// fails the proof.
//
// One token exists: msgpackBeats, beat hand-offs (wire_beats.go).

const (
	// streamMsgpackHeader lists the bodies sent as MessagePack: asked by
	// the dialer, agreed by the acceptor.
	streamMsgpackHeader = "X-Roster-Stream-Msgpack"
	// msgpackBeats is the token of beat hand-off requests.
	msgpackBeats = "beats"
)

// asksMsgpackBeats reports whether h names msgpackBeats in
// streamMsgpackHeader.
func asksMsgpackBeats(h http.Header) bool {
	return headerHasToken(h, streamMsgpackHeader, msgpackBeats)
}

// frameBody encodes a request's body for s: a beats request as
// MessagePack when s agreed to it, else as encodeBody does. It returns
// the body, the frame flags that describe it, and whether the body is
// in a pooled buffer (stream_pool.go).
func frameBody(s *session, in any) ([]byte, byte, bool, error) {
	if in == nil {
		return nil, 0, false, nil
	}
	if r, ok := in.(*beatsRequest); ok && s.msgpackBeats {
		in = (*beatsMsgpack)(r)
	}
	if m, ok := in.(msgp.Marshaler); ok {
		b, err := marshalPooled(m)
		return b, flagMsgpack, err == nil, err
	}
	b, err := json.Marshal(in)
	return b, 0, false, err
}
