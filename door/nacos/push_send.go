package nacos

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/store"
)

// Sending pushes and receiving their acknowledgements.

// pushMessage is what a Nacos client expects on its UDP port.
type pushMessage struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastRefTime int64  `json:"lastRefTime"`
}

// gzipAbove is the size from which a push is gzipped, as in Nacos.
const gzipAbove = 1024

// runPush sends pushes after changes, and retries unacknowledged ones,
// until the door closes.
func (d *Door) runPush() {
	tick := max(d.cfg.PushAckTimeout/4, time.Millisecond)
	for {
		changed := d.core.Changed()
		select {
		case <-d.ctx.Done():
			return
		case <-changed:
			// Let a burst of changes settle into one push.
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		case <-time.After(tick):
		}
		now := d.cfg.Now()
		d.push.retry(now, d.cfg.PushAckTimeout)
		if !d.switchValues().PushEnabled {
			continue
		}
		ttl := max(10*time.Second, 3*time.Duration(d.switchValues().DefaultPushCacheMillis)*time.Millisecond)
		d.pushRound(d.push.due(func(k store.Key) uint64 { return d.core.Snapshot(k).Index }, now, ttl), now)
	}
}

// pushGroup is the subscriptions that receive the same message.
type pushGroup struct {
	key         store.Key
	clusters    string
	healthyOnly bool
}

// pushRound pushes to the due subscriptions. Subscriptions to the same
// list share one message, encoded and compressed once: as in Nacos, one
// lastRefTime serves the whole round (the ack key adds the client's
// address).
func (d *Door) pushRound(due []pushSub, now time.Time) {
	if len(due) == 0 {
		return
	}
	ref := d.push.nextRef(now)
	cacheMillis := d.switchValues().DefaultPushCacheMillis
	msgs := map[pushGroup][]byte{}
	for _, s := range due {
		g := pushGroup{s.key, s.clusters, s.healthyOnly}
		msg, ok := msgs[g]
		if !ok {
			msg = d.encodePush(s, ref, cacheMillis)
			msgs[g] = msg
		}
		if msg == nil {
			continue
		}
		d.push.send(s, msg, ref, now)
	}
}

// encodePush returns the push message of s's list, gzipped when over
// gzipAbove bytes, or nil if the list cannot be read.
func (d *Door) encodePush(s pushSub, ref, cacheMillis int64) []byte {
	snap := d.core.Snapshot(s.key)
	body, echo, err := d.cachedList(snap, s.clusters, s.healthyOnly, cacheMillis)
	if err != nil {
		return nil
	}
	head, value, tail := spliceClusters(body, echo, s.clusters)
	data := string(head) + string(value) + string(tail)
	msg, err := json.Marshal(pushMessage{Type: "dom", Data: data, LastRefTime: ref})
	if err != nil {
		return nil
	}
	if len(msg) >= gzipAbove {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(msg)
		_ = zw.Close()
		msg = buf.Bytes()
	}
	return msg
}

// nextRef returns a lastRefTime for a push round: the time in
// nanoseconds, strictly increasing, so ack keys never collide.
func (p *pusher) nextRef(now time.Time) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	ref := max(now.UnixNano(), p.lastRef+1)
	p.lastRef = ref
	return ref
}

// send sends msg to s and tracks it for its acknowledgement.
func (p *pusher) send(s pushSub, msg []byte, ref int64, now time.Time) {
	p.mu.Lock()
	if len(msg) > s.maxBytes {
		p.counts.TooLarge++
		p.mu.Unlock()
		return
	}
	p.counts.Total++
	if len(p.acks) < maxPending {
		p.acks[ackKey{s.addr, ref}] = &pending{msg: msg, sent: now}
	}
	p.mu.Unlock()
	if _, err := p.conn.WriteToUDPAddrPort(msg, s.addr); err != nil {
		p.mu.Lock()
		delete(p.acks, ackKey{s.addr, ref})
		p.counts.Failed++
		p.mu.Unlock()
	}
}

// retry resends, once, each push unacknowledged for timeout, and gives up
// on those already resent.
func (p *pusher) retry(now time.Time, timeout time.Duration) {
	type resend struct {
		addr netip.AddrPort
		msg  []byte
	}
	var out []resend
	p.mu.Lock()
	for k, e := range p.acks {
		if now.Sub(e.sent) < timeout {
			continue
		}
		if e.retried {
			delete(p.acks, k)
			p.counts.Failed++
			continue
		}
		e.retried, e.sent = true, now
		p.counts.Retried++
		out = append(out, resend{k.addr, e.msg})
	}
	p.mu.Unlock()
	for _, r := range out {
		_, _ = p.conn.WriteToUDPAddrPort(r.msg, r.addr)
	}
}

// ackPacket is a client's acknowledgement. nacos-sdk-go and the Java
// client send lastRefTime as a string; a number is taken too.
type ackPacket struct {
	Type        string          `json:"type"`
	LastRefTime json.RawMessage `json:"lastRefTime"`
}

// runAcks reads acknowledgements until the socket closes.
func (d *Door) runAcks() {
	buf := make([]byte, 64*1024)
	for {
		n, from, err := d.push.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d.push.ack(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// ack applies one acknowledgement datagram from addr; anything else is
// ignored.
func (p *pusher) ack(b []byte, addr netip.AddrPort) {
	var a ackPacket
	if json.Unmarshal(b, &a) != nil || !strings.HasSuffix(a.Type, "-ack") {
		return
	}
	ref, err := strconv.ParseInt(strings.Trim(string(a.LastRefTime), `"`), 10, 64)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.acks[ackKey{addr, ref}]; ok {
		delete(p.acks, ackKey{addr, ref})
		p.counts.Acked++
	}
}
