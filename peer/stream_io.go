package peer

import (
	"bufio"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"time"
)

// The reader and writer of a stream connection (stream.go).

// readLoop reads frames until the connection fails.
func (s *session) readLoop() {
	var seq uint64
	var hdr [4]byte
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.pings.idle))
		if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
			if s.peerDrained() {
				s.end(errDrained, false) // the peer closed after its go-away
				return
			}
			s.fail(fmt.Errorf("peer: stream from %s: read: %w", s.peer, err))
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < frameHeader-4 || n > streamMaxFrame+512 {
			s.fail(fmt.Errorf("%w: frame of %d bytes from %s", errProtocol, n, s.peer))
			return
		}
		pooled := s.deltasNext(n)
		var buf []byte
		if pooled {
			buf = readBodies.get(int(n))[:n]
		} else {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(s.br, buf); err != nil {
			s.fail(fmt.Errorf("peer: stream from %s: read: %w", s.peer, err))
			return
		}
		f, err := s.open(buf, seq)
		seq++
		if err == nil && pooled && f.kind == frameRequest && f.path == deltasPath {
			f.pool = buf // released once served (stream_pool.go)
		}
		if err == nil {
			err = s.dispatch(f)
		}
		if err != nil {
			s.fail(err)
			return
		}
	}
}

// deltasNext reports, from its first bytes, whether the frame of n
// bytes about to be read is a delta request.
func (s *session) deltasNext(n uint32) bool {
	const at = 7 // kind, id, flags, path length
	if n < at+uint32(len(deltasPath)) {
		return false
	}
	h, err := s.br.Peek(at + len(deltasPath))
	if err != nil {
		return false
	}
	return h[0] == frameRequest && int(h[6]) == len(deltasPath) && string(h[at:]) == deltasPath
}

// open checks a frame's MAC and parses it.
func (s *session) open(buf []byte, seq uint64) (*frame, error) {
	if s.rmac != nil {
		if len(buf) < macSize {
			return nil, fmt.Errorf("%w: frame without MAC from %s", errProtocol, s.peer)
		}
		body, mac := buf[:len(buf)-macSize], buf[len(buf)-macSize:]
		if !hmac.Equal(mac, frameMAC(s.rmac, s.recv, seq, body, nil)) {
			return nil, fmt.Errorf("%w: invalid frame MAC from %s (a different cluster secret, or tampering)", errUnauthorized, s.peer)
		}
		buf = body
	}
	return parseFrame(buf)
}

// parseFrame parses a frame without its length and MAC.
func parseFrame(b []byte) (*frame, error) {
	if len(b) < 5 {
		return nil, fmt.Errorf("%w: short frame", errProtocol)
	}
	f := &frame{kind: b[0], id: binary.BigEndian.Uint32(b[1:5])}
	b = b[5:]
	switch f.kind {
	case framePing, frameGoAway:
	case frameRequest:
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return nil, fmt.Errorf("%w: short request", errProtocol)
		}
		f.flags, f.path, f.body = b[0], string(b[2:2+int(b[1])]), b[2+int(b[1]):]
	case frameReply:
		if len(b) < 3 {
			return nil, fmt.Errorf("%w: short reply", errProtocol)
		}
		f.status, f.flags, f.body = binary.BigEndian.Uint16(b), b[2], b[3:]
	default:
		return nil, fmt.Errorf("%w: unknown frame kind %d", errProtocol, f.kind)
	}
	if len(f.body) > streamMaxFrame {
		return nil, fmt.Errorf("%w: body of %d bytes", errProtocol, len(f.body))
	}
	return f, nil
}

// dispatch delivers an answer to its caller, starts a request's handler
// once the request is admitted, or notes a go-away.
func (s *session) dispatch(f *frame) error {
	switch {
	case f.kind == framePing:
		if s.pings.answer {
			s.askPong()
		}
		return nil
	case f.kind == frameReply && s.sends:
		s.mu.Lock()
		ch := s.pending[f.id]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- f: // buffered 1: a second answer to one id is dropped
			default:
			}
		}
		return nil
	case f.kind == frameRequest && s.handle != nil:
		if err := s.admit(len(f.body)); err != nil {
			return err
		}
		s.wg.Go(func() { s.serve(f) })
		return nil
	case f.kind == frameGoAway && s.duplex:
		s.mu.Lock()
		s.goAwayRecv, s.draining = true, true
		s.mu.Unlock()
		s.poke()
		return nil
	}
	return fmt.Errorf("%w: unexpected frame kind %d from %s", errProtocol, f.kind, s.peer)
}

// admit waits until the peer's requests held are within streamInflight
// and streamInBytes with one more of n bytes (one request is always
// admitted), and counts it. Meanwhile the reader reads nothing, so TCP
// pushes back on the peer.
func (s *session) admit(n int) error {
	for {
		s.mu.Lock()
		if s.inReqs == 0 || s.inReqs < streamInflight && s.inBytes+n <= streamInBytes {
			s.inReqs++
			s.inBytes += n
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-s.room:
		case <-s.ctx.Done():
			return s.cause()
		}
	}
}

// serve handles an admitted request once a handler slot is free, queues
// its answer, and releases what it held.
func (s *session) serve(f *frame) {
	defer func() {
		s.mu.Lock()
		s.inReqs--
		s.inBytes -= len(f.body)
		s.mu.Unlock()
		if f.pool != nil {
			readBodies.put(f.pool)
			f.pool, f.body = nil, nil
		}
		select {
		case s.room <- struct{}{}:
		default:
		}
		s.poke()
	}()
	select {
	case s.handlers <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	defer func() { <-s.handlers }()
	r := s.handle(s.ctx, f)
	r.kind, r.id = frameReply, f.id
	select {
	case s.out <- r:
	case <-s.ctx.Done():
	}
}

// writeLoop writes queued frames, every frame waiting in one write, the
// pings of its pingPlan (stream_ping.go), and the go-away of a drain; it
// closes the connection when a drain is complete, and fails it when a
// drain takes longer than two timeouts.
func (s *session) writeLoop() {
	w := bufio.NewWriterSize(s.conn, streamBufBytes)
	var tick <-chan time.Time
	if s.pings.pings {
		ping := time.NewTicker(s.pings.every)
		defer ping.Stop()
		tick = ping.C
	}
	var drainBy <-chan time.Time
	var seq uint64
	var last time.Time // the last write (none yet)
	for {
		var f *frame
		select {
		case <-s.ctx.Done():
			return
		case f = <-s.out:
		case <-s.kick:
		case <-drainBy:
			s.fail(fmt.Errorf("peer: stream to %s: drain not complete within %v", s.peer, 2*s.timeout))
			return
		case <-tick:
			if time.Since(last) < s.pings.every/2 || s.quiet() {
				continue
			}
			f = &frame{kind: framePing}
		case <-s.pong:
			if time.Since(last) < s.pings.every/2 || s.quiet() {
				continue
			}
			f = &frame{kind: framePing}
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		written := seq
		var err error
		if f != nil {
			err = s.writeFrame(w, f, &seq)
			if f.kind == framePing && s.pingBytes != nil {
				s.pingBytes.Add(uint64(s.frameSize(f)))
			}
		}
	more:
		for err == nil {
			select {
			case f = <-s.out:
				err = s.writeFrame(w, f, &seq)
			default:
				break more
			}
		}
		st := s.drainStep(len(s.out))
		if err == nil && st.goAway {
			err = s.writeFrame(w, &frame{kind: frameGoAway}, &seq)
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			s.fail(fmt.Errorf("peer: stream to %s: write: %w", s.peer, err))
			return
		}
		if st.draining && drainBy == nil {
			timer := time.NewTimer(2 * s.timeout)
			defer timer.Stop()
			drainBy = timer.C
		}
		if st.finished {
			s.end(errDrained, false)
			return
		}
		if seq != written { // a kick alone writes nothing
			last = time.Now()
		}
	}
}

// writeFrame encodes f into w.
func (s *session) writeFrame(w *bufio.Writer, f *frame, seq *uint64) error {
	var hb [frameHeader + 2 + 255]byte
	h := hb[:4]
	h = append(h, f.kind)
	h = binary.BigEndian.AppendUint32(h, f.id)
	switch f.kind {
	case frameRequest:
		h = append(h, f.flags, byte(len(f.path)))
		h = append(h, f.path...)
	case frameReply:
		h = binary.BigEndian.AppendUint16(h, f.status)
		h = append(h, f.flags)
	}
	n := len(h) - 4 + len(f.body)
	if s.wmac != nil {
		n += macSize
	}
	binary.BigEndian.PutUint32(h, uint32(n))
	_, _ = w.Write(h)
	_, err := w.Write(f.body)
	if s.wmac != nil {
		_, err = w.Write(frameMAC(s.wmac, s.send, *seq, h[4:], f.body))
	}
	*seq++
	if f.pooled { // w copied it or wrote it out
		sendBodies.put(f.body)
		f.body, f.pooled = nil, false
	}
	return err // a bufio.Writer's errors stick: this is the first, if any
}

// frameSize is the bytes f takes on the wire.
func (s *session) frameSize(f *frame) int {
	n := frameHeader + len(f.body)
	switch f.kind {
	case frameRequest:
		n += 2 + len(f.path)
	case frameReply:
		n += 3
	}
	if s.wmac != nil {
		n += macSize
	}
	return n
}

// frameMAC computes the MAC of a frame (a and b, concatenated) sent in
// direction dir as number seq.
func frameMAC(m hash.Hash, dir byte, seq uint64, a, b []byte) []byte {
	var pre [9]byte
	pre[0] = dir
	binary.BigEndian.PutUint64(pre[1:], seq)
	m.Reset()
	m.Write(pre[:])
	m.Write(a)
	m.Write(b)
	return m.Sum(nil)
}
