package peer

import (
	"strconv"
	"time"
)

// Pings keep an idle stream checked. A stream that carries requests needs
// none: a request that gets no answer within the timeout drops its
// connection (stream_call.go), and a write the peer does not read within
// it too. An idle one is checked so that a connection that died without a
// word (the peer's host gone, state lost in a middlebox, a peer frozen)
// is found and replaced before the next request waits a timeout on it.
// Finding failed nodes is memberlist's job, so the pings can be rare.
//
// The dialer names its interval in the upgrade request
// (streamPingHeader) and the acceptor agrees by naming it back. Then the
// dialer writes a ping when it wrote nothing for half an interval, at
// each interval; the acceptor answers a ping with one unless it wrote
// something within half an interval; and either side that read nothing
// for streamIdleFactor intervals drops the connection. An idle pair of
// nodes so exchanges two frames an interval (30 s by default), whatever
// else they do. A peer of a build that predates the header gets what it
// expects: both sides ping every legacyPing at most, and a side drops the
// connection after legacyIdle without a frame.

const (
	// streamPingHeader is the ping interval in milliseconds: asked by the
	// dialer, agreed by the acceptor.
	streamPingHeader = "X-Roster-Stream-Ping"
	// streamIdleFactor is how many ping intervals a side waits for a
	// frame before it drops an agreed connection.
	streamIdleFactor = 3
	// legacyPing and legacyIdle are the interval and the idle limit of a
	// build that predates the header.
	legacyPing = 5 * time.Second
	legacyIdle = 4 * legacyPing
	// maxStreamPing bounds the interval a dialer may ask.
	maxStreamPing = 10 * time.Minute
)

// pingPlan is how one side of a connection keeps it checked.
type pingPlan struct {
	every  time.Duration // the interval
	pings  bool          // this side pings when it wrote nothing for half of every
	answer bool          // this side answers the peer's pings
	idle   time.Duration // a side that read nothing this long drops the connection
}

// agreedPings is the plan of a connection whose sides agreed on every:
// the dialer pings and the acceptor answers.
func agreedPings(every time.Duration, dialer bool) pingPlan {
	return pingPlan{every: every, pings: dialer, answer: !dialer, idle: streamIdleFactor * every}
}

// legacyPings is the plan of a connection with a peer that predates the
// agreement: both sides ping, at least every legacyPing.
func legacyPings(every time.Duration) pingPlan {
	return pingPlan{every: min(every, legacyPing), pings: true, idle: legacyIdle}
}

// parsePing reads a streamPingHeader value; false when it is absent or
// not a whole number of milliseconds in [1, maxStreamPing].
func parsePing(v string) (time.Duration, bool) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 1 || ms > maxStreamPing.Milliseconds() {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// formatPing writes d as a streamPingHeader value.
func formatPing(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// askPong has the writer answer a ping from the peer.
func (s *session) askPong() {
	select {
	case s.pong <- struct{}{}:
	default:
	}
}
