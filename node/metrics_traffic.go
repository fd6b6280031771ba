package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-io/roster/peer"
)

// Traffic metrics: the bytes this node's gossip and peer connections
// carry, and memberlist's suspicions. The scale bench reads them to
// separate gossip from replication traffic.

const (
	helpGossipBytes = "Bytes this node's gossip (memberlist UDP packets and TCP streams) sent and received, by direction."
	helpPeerBytes   = "Bytes on the internal connections this node opened to peers (replication, hand-offs, anti-entropy; " +
		"HTTP framing included), by direction; each connection is counted by the node that dialed it."
)

var (
	descGossipSent     = desc("roster_gossip_bytes_total", helpGossipBytes, "direction", "sent")
	descGossipReceived = desc("roster_gossip_bytes_total", helpGossipBytes, "direction", "received")
	descSuspicions     = desc("roster_gossip_suspicions_total", "Members this node suspected of failure after a failed probe.")
	descRefutations    = desc("roster_gossip_refutations_total", "Suspicions of this node it refuted: each was a false suspicion by another member.")
	descPeerSent       = desc("roster_peer_bytes_total", helpPeerBytes, "direction", "sent")
	descPeerReceived   = desc("roster_peer_bytes_total", helpPeerBytes, "direction", "received")

	descPingBytes = desc("roster_peer_stream_ping_bytes_total", "Bytes of the pings this node wrote on its idle peer streams, dialed and accepted.")
	descHeardOwed = desc("roster_heard_reports_owed", "Members whose copy of this node's last-heard report is older than its current one "+
		"(changes still paced to heirs, or held for the others' next renewal); 0 once every member holds the current report.")

	descPeerRequests = kindDescs("roster_peer_requests_total", "Internal requests this node sent to peers, by kind "+
		"(deltas, beats: handed-off beats, heard: last-heard reports, antientropy, sync: start-up dumps and other queries).")
	descPeerBodyBytes = kindDescs("roster_peer_body_bytes_total", "Bytes of the bodies of the internal requests this node sent "+
		"and of their answers (no framing; over HTTP and peer streams alike), by kind as in roster_peer_requests_total.")
)

// kindDescs returns one description of name for each peer.Kind.
func kindDescs(name, help string) []*prometheus.Desc {
	out := make([]*prometheus.Desc, peer.NumKinds)
	for k := range peer.NumKinds {
		out[k] = desc(name, help, "kind", k.String())
	}
	return out
}

// describeTraffic sends the traffic metrics' descriptions.
func describeTraffic(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGossipSent, descGossipReceived, descSuspicions, descRefutations, descPeerSent, descPeerReceived, descPingBytes, descHeardOwed} {
		ch <- d
	}
	for k := range peer.NumKinds {
		ch <- descPeerRequests[k]
		ch <- descPeerBodyBytes[k]
	}
}

// collectTraffic sends the traffic metrics (gossip's are zero on a node
// without gossip).
func (c *nodeCollector) collectTraffic(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	if g := c.n.gossip; g != nil {
		t := g.Traffic()
		counter(descGossipSent, t.SentBytes)
		counter(descGossipReceived, t.ReceivedBytes)
		counter(descSuspicions, t.Suspicions)
		counter(descRefutations, t.Refutations)
	} else {
		for _, d := range []*prometheus.Desc{descGossipSent, descGossipReceived, descSuspicions, descRefutations} {
			counter(d, 0)
		}
	}
	st := c.n.peers.Stats()
	counter(descPeerSent, st.BytesSent.Load())
	counter(descPeerReceived, st.BytesReceived.Load())
	counter(descPingBytes, st.StreamPingBytes.Load())
	ch <- prometheus.MustNewConstMetric(descHeardOwed, prometheus.GaugeValue, float64(st.HeardOwed.Load()))
	for k := range peer.NumKinds {
		counter(descPeerRequests[k], st.Requests[k].Load())
		counter(descPeerBodyBytes[k], st.BodyBytes[k].Load())
	}
}
