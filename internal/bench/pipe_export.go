package bench

import "context"

// Pipe is the lean generator's pipelined HTTP/1.1 connection (pipe.go),
// for other load generators of the repository (the chaos suite's flood).
// It is safe for concurrent use.
type Pipe struct{ p *pipe }

// NewPipe returns a pipe to addr (host:port) with at most depth requests
// waiting for answers; it dials at once and again after a failure, until
// ctx ends.
func NewPipe(ctx context.Context, addr string, depth int) *Pipe {
	return &Pipe{p: newPipe(ctx, addr, depth)}
}

// Send queues the raw HTTP/1.1 request; done gets the status, up to 512
// bytes of the body, or the error (from the pipe's goroutines, so it must
// not block). It blocks while the pipe is full and fails once ctx ended.
func (p *Pipe) Send(raw []byte, done func(status int, body []byte, err error)) error {
	return p.p.send(raw, func(a pipeAnswer) { done(a.Status, a.Body, a.Err) })
}

// Wait returns once the pipe's goroutines ended (after its ctx ended).
func (p *Pipe) Wait() { p.p.wait() }

// FormRequest is a raw HTTP/1.1 request with a form body (empty for a
// GET whose query is in path).
func FormRequest(method, host, path, form string) []byte {
	return formRequest(method, host, path, form)
}
