package peer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tinylib/msgp/msgp"
)

// streamOutcome is what became of a request offered to the stream.
type streamOutcome int

const (
	// notSent: there is no stream to the member, or the request does not
	// fit a frame, or its connection broke before the answer; send it
	// over HTTP (repeating it is harmless).
	notSent streamOutcome = iota
	// answered: the member answered (err holds a failure, if any).
	answered
	// useHTTP: the member answered "use HTTP": it does not carry the
	// path, or the answer would not fit a frame.
	useHTTP
)

// streamCall sends one internal request on m's stream, when it has one
// and the request fits a frame. done is false when the request must go
// over HTTP instead (nothing was applied, or repeating it is harmless).
func (t *Transport) streamCall(ctx context.Context, kind Kind, m Member, path string, in, out any) (done bool, err error) {
	o, _, err := t.streamTry(ctx, kind, m, path, in, out)
	return o == answered, err
}

// streamTry offers one internal request to m's stream and reports what
// became of it, with the size of the answer's body. A request whose
// connection is being drained, or broke, is sent once more on the
// connection the link has moved to, if any. An answered request's body
// and its answer's count in Stats.BodyBytes under kind, as over HTTP.
func (t *Transport) streamTry(ctx context.Context, kind Kind, m Member, path string, in, out any) (streamOutcome, int, error) {
	l := t.linkOf(m)
	if l == nil || len(path) > 255 {
		return notSent, 0, nil
	}
	s := l.session()
	if s == nil {
		return notSent, 0, nil
	}
	body, flags, pooled, err := frameBody(s, in)
	if err != nil {
		return answered, 0, fmt.Errorf("peer: encode %s: %w", path, err)
	}
	if len(body) > streamMaxFrame {
		return notSent, 0, nil
	}
	sent := len(body) // body is the session's once queued (stream_pool.go)
	var accept byte
	if _, ok := out.(msgp.Unmarshaler); ok {
		accept = flagAccept
	}
	callCtx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	r, err := s.roundTrip(callCtx, path, flags|accept, body, pooled)
	if errors.Is(err, errStreamDown) {
		if next := l.session(); next != nil && next != s {
			// Encoded again: the old connection may have reused the
			// first body's buffer, and the new one may have agreed to
			// another encoding.
			if body, flags, pooled, err = frameBody(next, in); err != nil || len(body) > streamMaxFrame {
				return notSent, 0, nil
			}
			sent, s = len(body), next
			r, err = s.roundTrip(callCtx, path, flags|accept, body, pooled)
		}
	}
	if err == nil && r.status != statusUseHTTP {
		t.stats.BodyBytes[kind].Add(uint64(sent + len(r.body)))
	}
	switch {
	case errors.Is(err, errStreamDown):
		return notSent, 0, nil
	case err != nil && ctx.Err() == nil:
		// No answer within the timeout: the connection is dropped, as an
		// HTTP client drops a request's, so what it still holds is not
		// delivered long after (a partition that heals), and the next
		// requests go over a new connection or HTTP.
		s.fail(fmt.Errorf("peer: stream to %s: no answer to %s within %v", m.Name, path, t.cfg.Timeout))
		return answered, 0, fmt.Errorf("peer: POST %s to %s (stream): %w", path, m.Name, err)
	case err != nil:
		return answered, 0, fmt.Errorf("peer: POST %s to %s (stream): %w", path, m.Name, err)
	case r.status == statusUseHTTP:
		return useHTTP, 0, nil
	case r.status != http.StatusOK:
		return answered, len(r.body), &answerError{status: int(r.status), msg: fmt.Sprintf("peer: POST %s to %s: %d %s: %s", path, m.Name, r.status, http.StatusText(int(r.status)), strings.TrimSpace(string(r.body[:min(len(r.body), 512)])))}
	case out == nil:
		return answered, len(r.body), nil
	}
	ctype := "application/json"
	if r.flags&flagMsgpack != 0 {
		ctype = msgpackType
	}
	if err := decodeBody(r.body, ctype, out, &t.stats); err != nil {
		return answered, len(r.body), fmt.Errorf("peer: decode %s from %s: %w", path, m.Name, err)
	}
	return answered, len(r.body), nil
}
