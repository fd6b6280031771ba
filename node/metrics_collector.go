package node

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-io/roster/store"
)

// nodeCollector exports, at scrape time, the node's gauges (registry size,
// ownership, membership, gossip health) and the counters kept in stats.
type nodeCollector struct{ n *Node }

var _ prometheus.Collector = (*nodeCollector)(nil)

// desc builds a metric description; labels are constant label pairs.
func desc(name, help string, labels ...string) *prometheus.Desc {
	var cl prometheus.Labels
	for i := 0; i+1 < len(labels); i += 2 {
		if cl == nil {
			cl = prometheus.Labels{}
		}
		cl[labels[i]] = labels[i+1]
	}
	return prometheus.NewDesc(name, help, nil, cl)
}

const (
	helpExpiries = "Ephemeral instances this node timed out as their owner, by transition (unhealthy, removed)."
	helpAE       = "Anti-entropy exchanges this node started, by result (equal, repaired, failed)."
	helpMembers  = "Cluster members as this node sees them, by state: alive (synced, in the ring), " +
		"syncing (alive, not yet in the ring), gone (left or declared dead within the reconnect timeout)."
)

var (
	descInstances     = desc("roster_instances", "Live instances held by this node (all services, replicas included).")
	descServices      = desc("roster_services", "Services held by this node.")
	descOwned         = desc("roster_services_owned", "Services this node owns: it receives their beats and times their instances out.")
	descPartitions    = desc("roster_partitions_owned", "Ring partitions this node owns.")
	descReady         = desc("roster_ready", "1 when the node holds the registry and serves clients, else 0.")
	descMembersAlive  = desc("roster_members", helpMembers, "state", "alive")
	descMembersSync   = desc("roster_members", helpMembers, "state", "syncing")
	descMembersGone   = desc("roster_members", helpMembers, "state", "gone")
	descHealth        = desc("roster_gossip_health_score", "memberlist's Lifeguard awareness score: 0 is healthy; higher means this node missed its own probe deadlines and probes more slowly.")
	descEventsDropped = desc("roster_gossip_events_dropped_total", "Membership events dropped because the node fell behind (it then rebuilt its view from the member list).")

	descBeats           = desc("roster_beats_received_total", "Client heartbeats that reached this node (native and Nacos APIs).")
	descHandedOff       = desc("roster_beats_handed_off_total", "Heartbeats this node handed on to the service's owner.")
	descHandoffBatches  = desc("roster_beat_handoff_batches_total", "Hand-off requests sent to owners (each carries one or more beats).")
	descHandoffFailures = desc("roster_beat_handoff_failures_total", "Heartbeats handled here because their owner could not be reached in time.")
	descUnhealthy       = desc("roster_instance_expiries_total", helpExpiries, "transition", "unhealthy")
	descRemoved         = desc("roster_instance_expiries_total", helpExpiries, "transition", "removed")

	descRecordsSent     = desc("roster_replication_records_sent_total", "Records (deltas) pushed to peers.")
	descBatchesSent     = desc("roster_replication_batches_sent_total", "Replication requests sent to peers.")
	descBatchFailures   = desc("roster_replication_batch_failures_total", "Replication requests that failed (anti-entropy repairs what they carried).")
	descRecordsReceived = desc("roster_replication_records_received_total", "Records received from peers' replication pushes.")
	descRecordsApplied  = desc("roster_replication_records_applied_total", "Received records that were newer than what this node held and were applied.")
	descRecordsRefused  = desc("roster_peer_records_refused_total", "Invalid records (and handed-off beats) received from peers; the request or answer holding them was refused whole.")

	descAEEqual    = desc("roster_antientropy_exchanges_total", helpAE, "result", "equal")
	descAERepaired = desc("roster_antientropy_exchanges_total", helpAE, "result", "repaired")
	descAEFailed   = desc("roster_antientropy_exchanges_total", helpAE, "result", "failed")
	descExpiryLate = desc("roster_expiry_lateness_seconds", "How late this node's expiry transitions became visible, from each instance's deadline (last beat + timeout) to the end of the sweep that applied it.")

	descFuture = desc("roster_records_from_the_future_total", "Records from peers refused because they were stamped further ahead of this node's clock than --max-clock-skew.")

	descUnconfirmed = desc("roster_writes_unconfirmed_total", "Client writes no peer confirmed within --replication-timeout: answered 200 with X-Roster-Replicas: 1, kept on this node and spread when a peer is reachable.")

	descAEDeferred = desc("roster_antientropy_partitions_deferred_total", "Differing partitions whose every differing record was written within the last anti-entropy interval, left to the replication deltas in flight (repaired by a later round if they do not heal).")

	descCacheEvictions = desc("roster_snapshot_cache_evictions_total", "Encoded list bodies dropped from a service snapshot's cache to make room for another (each snapshot keeps at most "+strconv.Itoa(store.MaxCachedBodies)+").")

	descStreamConnects = desc("roster_peer_stream_connects_total", "Persistent peer streams this node opened (one per pair of nodes, by the node whose name sorts first, again after each reconnection; one per peer with builds without duplex streams).")
	descStreamCalls    = desc("roster_peer_stream_requests_total", "Internal requests this node sent over peer streams and had answered (the rest went as HTTP requests).")

	descAECompared   = desc("roster_antientropy_partitions_compared_total", "Differing partitions whose record summaries this node compared with a peer's (of the sub-digest buckets that differ).")
	descAESummarized = desc("roster_antientropy_summary_entries_total", "Record summary entries this node compared with a peer's, both sides counted: what anti-entropy costs beyond its digests.")

	descAEPartitions = desc("roster_antientropy_partitions_repaired_total", "Ring partitions in which anti-entropy found records one side had missed, and exchanged those records.")
)

// statCounter pairs a counter kept in stats with its description.
type statCounter struct {
	d *prometheus.Desc
	v *atomic.Uint64
}

// counters returns every counter kept in stats.
func (c *nodeCollector) counters() []statCounter {
	s, t := &c.n.stats, c.n.peers.Stats()
	return []statCounter{
		{descBeats, &s.beatsReceived}, {descHandedOff, &t.HandoffBeats},
		{descHandoffBatches, &t.HandoffBatches}, {descHandoffFailures, &s.handoffFailures},
		{descUnhealthy, &s.expiredUnhealthy}, {descRemoved, &s.expiredRemoved},
		{descRecordsSent, &t.DeltaRecords}, {descBatchesSent, &t.DeltaBatches},
		{descBatchFailures, &t.DeltaFailures}, {descRecordsReceived, &t.DeltaReceived},
		{descRecordsApplied, &t.DeltaApplied}, {descRecordsRefused, &t.RecordsRefused},
		{descAEEqual, &s.aeEqual}, {descAERepaired, &s.aeRepaired}, {descAEFailed, &s.aeFailed},
		{descAEPartitions, &s.aePartitions}, {descAEDeferred, &s.aeDeferred},
		{descAECompared, &s.aeCompared}, {descAESummarized, &s.aeSummarized},
		{descFuture, &s.futureRefused}, {descUnconfirmed, &s.writesUnconfirmed},
		{descCacheEvictions, &c.n.store.CacheStats().Evictions},
		{descStreamConnects, &t.StreamConnects}, {descStreamCalls, &t.StreamCalls},
	}
}

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInstances, descServices, descOwned, descPartitions, descReady,
		descMembersAlive, descMembersSync, descMembersGone, descHealth, descEventsDropped, descExpiryLate} {
		ch <- d
	}
	for _, ct := range c.counters() {
		ch <- ct.d
	}
	describeTraffic(ch)
}

// Collect implements prometheus.Collector.
func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	services, instances := n.store.Stats()
	gauge(descInstances, instances)
	gauge(descServices, services)
	owned := 0
	for _, k := range n.store.AllServices() {
		if n.owns(k) {
			owned++
		}
	}
	gauge(descOwned, owned)
	partitions := 0
	if n.gossip == nil {
		partitions = n.ring.PartitionCount()
	} else if owning := n.cluster.owning.Load(); owning != nil {
		for _, o := range *owning {
			if o {
				partitions++
			}
		}
	}
	gauge(descPartitions, partitions)
	ready := 0
	if n.Ready() {
		ready = 1
	}
	gauge(descReady, ready)

	alive, syncing, gone, health := 1, 0, 0, 0
	var dropped uint64
	if n.gossip != nil {
		alive = 0
		for _, m := range n.cluster.memberList() {
			if m.Ready {
				alive++
			} else {
				syncing++
			}
		}
		gone, health, dropped = n.gossip.Gone(), n.gossip.HealthScore(), n.gossip.DroppedEvents()
	}
	gauge(descMembersAlive, alive)
	gauge(descMembersSync, syncing)
	gauge(descMembersGone, gone)
	gauge(descHealth, health)
	ch <- prometheus.MustNewConstMetric(descEventsDropped, prometheus.CounterValue, float64(dropped))

	for _, ct := range c.counters() {
		ch <- prometheus.MustNewConstMetric(ct.d, prometheus.CounterValue, float64(ct.v.Load()))
	}
	c.collectTraffic(ch)
	buckets, count, sum := n.stats.expiryLate.promBuckets()
	ch <- prometheus.MustNewConstHistogram(descExpiryLate, count, sum, buckets)
}
