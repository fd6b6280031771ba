package nacos

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// TestProcSampler reads figures from a fake /proc: cpu is the busy share
// between two samples, load the one-minute average, mem the share in use.
func TestProcSampler(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("loadavg", "1.50 0.80 0.40 2/300 1234\n")
	write("meminfo", "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n")
	// user nice system idle iowait irq softirq
	write("stat", "cpu  100 0 100 700 100 0 0\ncpu0 1 2 3 4\n")
	s := &procSampler{root: dir}
	t0 := time.Unix(100, 0)
	f := s.sample(t0)
	if f.load != 1.5 || f.mem != 0.75 || f.cpu != 0.2 {
		t.Fatalf("first sample %+v, want load 1.5, mem 0.75, cpu 0.2 (since boot)", f)
	}
	write("stat", "cpu  150 0 150 750 150 0 0\n") // +100 busy of +200
	if f := s.sample(t0.Add(time.Second)); f.cpu != 0.5 {
		t.Errorf("second sample cpu %v, want 0.5", f.cpu)
	}
	if f := (&procSampler{root: filepath.Join(dir, "none")}).sample(t0); f != (procFigures{}) {
		t.Errorf("without /proc: %+v, want zeros", f)
	}
}

// TestPusherAck takes acknowledgements with lastRefTime as a string (the
// Java client and nacos-sdk-go) or a number, only from the address pushed
// to, and ignores anything else.
func TestPusherAck(t *testing.T) {
	p, err := newPusher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.conn.Close()
	a := netip.MustParseAddrPort("127.0.0.1:40000")
	b := netip.MustParseAddrPort("127.0.0.1:40001")
	now := time.Unix(100, 0)
	p.acks[ackKey{a, 7}] = &pending{sent: now}
	p.acks[ackKey{a, 8}] = &pending{sent: now}
	p.ack([]byte(`{"type":"push-ack","lastRefTime":"7","data":""}`), b) // wrong sender
	p.ack([]byte(`not json`), a)
	p.ack([]byte(`{"type":"push","lastRefTime":7}`), a) // not an ack
	if len(p.acks) != 2 || p.counts.Acked != 0 {
		t.Fatalf("acks %d, acked %d: want nothing taken", len(p.acks), p.counts.Acked)
	}
	p.ack([]byte(`{"type":"push-ack","lastRefTime":"7","data":""}`), a)
	p.ack([]byte(`{"type":"unknown-ack","lastRefTime":8}`), a)
	if len(p.acks) != 0 || p.counts.Acked != 2 {
		t.Fatalf("acks %d, acked %d: want both taken", len(p.acks), p.counts.Acked)
	}
	// Unacknowledged: one retry after the timeout, then failed.
	p.acks[ackKey{a, 9}] = &pending{msg: []byte("x"), sent: now}
	p.retry(now.Add(time.Second), 10*time.Second)
	if p.counts.Retried != 0 {
		t.Fatal("retried before the timeout")
	}
	p.retry(now.Add(10*time.Second), 10*time.Second)
	p.retry(now.Add(15*time.Second), 10*time.Second)
	if p.counts.Retried != 1 || p.counts.Failed != 0 {
		t.Fatalf("after one timeout: %+v, want one retry", p.counts)
	}
	p.retry(now.Add(20*time.Second), 10*time.Second)
	if p.counts.Retried != 1 || p.counts.Failed != 1 || len(p.acks) != 0 {
		t.Fatalf("after two timeouts: %+v, %d pending; want failed and dropped", p.counts, len(p.acks))
	}
}

// TestSwitchesView parses the switches record over the defaults and
// ignores values out of bounds.
func TestSwitchesView(t *testing.T) {
	s := newSwitches(3000, 10000)
	if v := s.view(&store.Snapshot{}); v != s.defaults {
		t.Fatalf("no record: %+v, want the defaults", v)
	}
	snap := &store.Snapshot{Exists: true, Index: 5, Info: store.ServiceInfo{Metadata: map[string]string{
		"pushEnabled": "false", "defaultCacheMillis": "5000", "defaultPushCacheMillis": "10", "defaultInstanceEphemeral": "x"}}}
	want := switchValues{PushEnabled: false, DefaultCacheMillis: 5000, DefaultPushCacheMillis: 10000, DefaultInstanceEphemeral: true}
	if v := s.view(snap); v != want {
		t.Fatalf("record: %+v, want %+v", v, want)
	}
	if _, err := checkSwitch("defaultPushCacheMillis", "9999"); err == nil {
		t.Error("defaultPushCacheMillis 9999 accepted; Nacos' minimum is 10000")
	}
	if v, err := checkSwitch("pushEnabled", " TRUE "); err != nil || v != "true" {
		t.Errorf("pushEnabled TRUE: %q %v", v, err)
	}
}

// TestParseListSelector covers the selector forms service/list takes.
func TestParseListSelector(t *testing.T) {
	for raw, want := range map[string]*labelFilter{
		"":                 nil,
		`{"type":"none"}`:  nil,
		`{"type":"label"}`: nil,
		`{"type":"label","expression":" INSTANCE . metadata . zone = 'a b' "}`: {instance: true, key: "zone", value: "ab"},
		`{"type":"label","expression":"SERVICE.metadata.tier='gold'"}`:         {key: "tier", value: "gold"},
	} {
		got, err := parseListSelector(raw)
		if err != nil || (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("%s: got %+v, %v; want %+v", raw, got, err, want)
		}
	}
}
