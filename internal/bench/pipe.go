package bench

// The lean generator: HTTP/1.1 pipelined over a few connections per node.
// A blocking client needs one goroutine and one round trip per request in
// flight, and on a machine whose cores the agents share it cannot offer
// much more than the cluster takes. A pipe writes every request when it is
// due, whether or not earlier answers arrived (one write system call for
// whatever queued meanwhile), and a reader matches the answers in order.
// At most depth requests wait for answers on one connection (and depth
// more to be written); beyond that a send blocks, as a client whose
// requests are not answered cannot send more, and the generator reports
// how late it sent. A shallow pipe over many connections behaves like
// many clients; a deep one over few queues requests in the server's
// socket buffers, where the server cannot see how long they wait.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// pipeAnswer is the outcome of one pipelined request.
type pipeAnswer struct {
	Status int
	Body   []byte // at most 512 bytes of it
	Err    error
}

// pipeReq is a request on its way.
type pipeReq struct {
	raw  []byte
	done func(pipeAnswer)
}

// pipe is one pipelined HTTP/1.1 connection. A broken connection fails
// the requests in flight and is dialled again for the next ones.
type pipe struct {
	addr  string // host:port
	in    chan pipeReq
	depth int // requests in flight at most
	ctx   context.Context
	wg    sync.WaitGroup
}

func newPipe(ctx context.Context, addr string, depth int) *pipe {
	depth = max(depth, 1)
	p := &pipe{addr: addr, in: make(chan pipeReq, depth), depth: depth, ctx: ctx}
	p.wg.Go(p.run)
	return p
}

// send queues raw; done gets its answer (from the pipe's goroutines). It
// blocks while the pipe is full.
func (p *pipe) send(raw []byte, done func(pipeAnswer)) error {
	select {
	case p.in <- pipeReq{raw: raw, done: done}:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// wait returns once the pipe's goroutines ended (after ctx ended).
func (p *pipe) wait() { p.wg.Wait() }

// run dials, writes and, through a reader goroutine, answers; it dials
// again after a failure, at most every 100 ms.
func (p *pipe) run() {
	for p.ctx.Err() == nil {
		conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(p.ctx, "tcp", p.addr)
		if err != nil {
			p.failOne(fmt.Errorf("bench: pipe: %w", err))
			continue
		}
		p.serve(conn)
	}
	for {
		select {
		case r := <-p.in:
			r.done(pipeAnswer{Err: p.ctx.Err()})
		default:
			return
		}
	}
}

// failOne fails the next queued request and pauses, so a dead node costs
// one error per 100 ms rather than a spin.
func (p *pipe) failOne(err error) {
	select {
	case r := <-p.in:
		r.done(pipeAnswer{Err: err})
	case <-p.ctx.Done():
		return
	}
	select {
	case <-time.After(100 * time.Millisecond):
	case <-p.ctx.Done():
	}
}

// serve uses conn until it breaks or ctx ends.
func (p *pipe) serve(conn net.Conn) {
	inflight := make(chan pipeReq, p.depth)
	broken := make(chan struct{})
	var once sync.Once
	brk := func() { once.Do(func() { close(broken); conn.Close() }) }
	var rd sync.WaitGroup
	rd.Go(func() {
		defer brk()
		br := bufio.NewReaderSize(conn, 64<<10)
		for {
			var r pipeReq
			select {
			case r = <-inflight:
			case <-broken:
				return
			}
			a := readAnswer(br)
			r.done(a)
			if a.Err != nil {
				return
			}
		}
	})
	bw := bufio.NewWriterSize(conn, 64<<10)
	for err := error(nil); err == nil; {
		var r pipeReq
		select {
		case r = <-p.in:
		case <-broken:
			err = errors.New("bench: pipe: connection closed")
			continue
		case <-p.ctx.Done():
			err = p.ctx.Err()
			continue
		}
		// Take whatever else is queued, then write it all at once.
		for n := 0; err == nil; n++ {
			select {
			case inflight <- r:
			default:
				// Full: what is written must leave before answers can
				// make room.
				if err = bw.Flush(); err != nil {
					r.done(pipeAnswer{Err: err})
					continue
				}
				select {
				case inflight <- r:
				case <-broken:
					r.done(pipeAnswer{Err: errors.New("bench: pipe: connection closed")})
					err = errors.New("bench: pipe: connection closed")
					continue
				}
			}
			_, err = bw.Write(r.raw)
			if n >= 255 || len(p.in) == 0 {
				break
			}
			r = <-p.in
		}
		if err == nil {
			err = bw.Flush()
		}
	}
	brk()
	rd.Wait()
	for {
		select {
		case r := <-inflight:
			r.done(pipeAnswer{Err: errors.New("bench: pipe: connection closed before the answer")})
		default:
			return
		}
	}
}

// readAnswer reads one HTTP/1.1 response (Content-Length or chunked).
func readAnswer(br *bufio.Reader) pipeAnswer {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return pipeAnswer{Err: fmt.Errorf("bench: pipe: status line: %w", err)}
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return pipeAnswer{Err: fmt.Errorf("bench: pipe: bad status line %q", line)}
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return pipeAnswer{Err: fmt.Errorf("bench: pipe: bad status line %q", line)}
	}
	length, chunked := -1, false
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return pipeAnswer{Err: fmt.Errorf("bench: pipe: header: %w", err)}
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, val, _ := bytes.Cut(h, []byte(":"))
		val = bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(val)); err != nil || length < 0 {
				return pipeAnswer{Err: fmt.Errorf("bench: pipe: bad Content-Length %q", val)}
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(val, []byte("chunked"))
		}
	}
	var body []byte
	switch {
	case chunked:
		body, err = readChunked(br)
	case length >= 0:
		body = make([]byte, length)
		_, err = io.ReadFull(br, body)
	default:
		err = errors.New("bench: pipe: answer without a length")
	}
	if err != nil {
		return pipeAnswer{Err: fmt.Errorf("bench: pipe: body: %w", err)}
	}
	return pipeAnswer{Status: status, Body: body[:min(len(body), 512)]}
}

// readChunked reads a chunked body.
func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 32)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			_, err := br.ReadSlice('\n') // the empty trailer
			return body, err
		}
		chunk := make([]byte, size+2)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, err
		}
		body = append(body, chunk[:size]...)
	}
}

// formRequest is a raw HTTP/1.1 request with a form body.
func formRequest(method, host, path, form string) []byte {
	var b bytes.Buffer
	b.Grow(len(form) + len(path) + 128)
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", method, path, host, len(form))
	b.WriteString(form)
	return b.Bytes()
}
