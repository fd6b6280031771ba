package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// validInstance and validService return records a client could have made.
func validInstance() store.Record { return sampleRecords(1)[0] }
func validService() store.Record  { return sampleRecords(0)[0] }

// validBeat returns a hand-off a door could have made.
func validBeat() BeatCall {
	r := validInstance()
	in := *r.Instance
	in.Version, in.BeatInterval, in.BeatTimeout, in.DeleteTimeout = store.Version{}, 0, 0, 0
	return BeatCall{Key: r.Key, Instance: in.InstanceKey, Register: &in}
}

// TestCheckRecord is the validator's table: a valid record passes, and
// each field a client could never have sent is refused by its name.
func TestCheckRecord(t *testing.T) {
	inst := func(fn func(*store.Record)) store.Record { r := validInstance(); fn(&r); return r }
	svc := func(fn func(*store.Record)) store.Record { r := validService(); fn(&r); return r }
	bigMeta := map[string]string{"k": strings.Repeat("v", param.MaxMetadataBytes)}
	tests := []struct {
		name      string
		rec       store.Record
		wantField string // "" for valid
	}{
		{"valid instance", validInstance(), ""},
		{"valid service", validService(), ""},
		{"valid tombstone", inst(func(r *store.Record) { r.Instance.Deleted, r.Instance.Metadata, r.Instance.Weight = true, nil, 0 }), ""},
		{"ipv6 hostname max timings", inst(func(r *store.Record) {
			r.Instance.IP, r.Instance.BeatTimeout, r.Instance.DeleteTimeout = "2001:db8::1", param.MaxBeatTiming, param.MaxBeatTiming
		}), ""},
		{"neither part", store.Record{Key: validInstance().Key}, "record"},
		{"both parts", inst(func(r *store.Record) { r.Service = validService().Service }), "record"},
		{"empty namespace", inst(func(r *store.Record) { r.Key.Namespace = "" }), "key.namespace"},
		{"group with @@", inst(func(r *store.Record) { r.Key.Group = "a@@b" }), "key.group"},
		{"service too long", inst(func(r *store.Record) { r.Key.Service = strings.Repeat("s", param.MaxNameLen+1) }), "key.service"},
		{"service padded", svc(func(r *store.Record) { r.Key.Service = " s" }), "key.service"},
		{"control in cluster", inst(func(r *store.Record) { r.Instance.Cluster = "a\nb" }), "instance.cluster"},
		{"empty cluster", inst(func(r *store.Record) { r.Instance.Cluster = "" }), "instance.cluster"},
		{"bad ip", inst(func(r *store.Record) { r.Instance.IP = "1.2.3.256" }), "instance.ip"},
		{"ip not canonical", inst(func(r *store.Record) { r.Instance.IP = "::ffff:10.0.0.1" }), "instance.ip"},
		{"port zero", inst(func(r *store.Record) { r.Instance.Port = 0 }), "instance.port"},
		{"port too big", inst(func(r *store.Record) { r.Instance.Port = 1 << 20 }), "instance.port"},
		{"negative weight", inst(func(r *store.Record) { r.Instance.Weight = -1 }), "instance.weight"},
		{"huge weight", inst(func(r *store.Record) { r.Instance.Weight = param.MaxWeight + 1 }), "instance.weight"},
		{"NaN weight", inst(func(r *store.Record) { r.Instance.Weight = math.NaN() }), "instance.weight"},
		{"metadata too big", inst(func(r *store.Record) { r.Instance.Metadata = bigMeta }), "instance.metadata"},
		{"metadata empty key", inst(func(r *store.Record) { r.Instance.Metadata = map[string]string{"": "x"} }), "instance.metadata"},
		{"zero beat interval", inst(func(r *store.Record) { r.Instance.BeatInterval = 0 }), "instance.beatInterval"},
		{"beat timeout MaxInt64", inst(func(r *store.Record) { r.Instance.BeatTimeout = math.MaxInt64 }), "instance.beatTimeout"},
		{"negative delete timeout", inst(func(r *store.Record) { r.Instance.DeleteTimeout = -time.Second }), "instance.deleteTimeout"},
		{"delete timeout over a day", inst(func(r *store.Record) { r.Instance.DeleteTimeout = param.MaxBeatTiming + 1 }), "instance.deleteTimeout"},
		{"no version node", inst(func(r *store.Record) { r.Instance.Version.Node = "" }), "instance.version.node"},
		{"zero clock", inst(func(r *store.Record) { r.Instance.Version.Clock = 0 }), "instance.version.clock"},
		{"threshold over 1", svc(func(r *store.Record) { r.Service.ProtectThreshold = 1.5 }), "service.protectThreshold"},
		{"threshold +Inf", svc(func(r *store.Record) { r.Service.ProtectThreshold = math.Inf(1) }), "service.protectThreshold"},
		{"service metadata", svc(func(r *store.Record) { r.Service.Metadata = map[string]string{"a\x00": "x"} }), "service.metadata"},
		{"service version node", svc(func(r *store.Record) { r.Service.Version.Node = strings.Repeat("n", param.MaxNameLen+1) }), "service.version.node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRecord(&tt.rec)
			checkField(t, err, tt.wantField)
		})
	}
}

// checkField checks err is nil when field is "", else a *param.FieldError
// naming field.
func checkField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *param.FieldError
	switch {
	case field == "" && err != nil:
		t.Fatalf("got %v, want valid", err)
	case field != "" && (!errors.As(err, &fe) || fe.Field != field):
		t.Fatalf("got %v, want an error naming %s", err, field)
	}
}

// TestCheckBeat checks a hand-off: its re-registration may leave the
// timings for the store to default, never set them out of range.
func TestCheckBeat(t *testing.T) {
	beat := func(fn func(*BeatCall)) BeatCall { b := validBeat(); fn(&b); return b }
	tests := []struct {
		name      string
		b         BeatCall
		wantField string
	}{
		{"valid", validBeat(), ""},
		{"no re-registration", beat(func(b *BeatCall) { b.Register = nil }), ""},
		{"empty", BeatCall{}, "key.namespace"},
		{"bad port", beat(func(b *BeatCall) { b.Instance.Port = -1 }), "instance.port"},
		{"register timeout MaxInt64", beat(func(b *BeatCall) { b.Register.BeatTimeout = math.MaxInt64 }), "register.beatTimeout"},
		{"register ip", beat(func(b *BeatCall) { b.Register.IP = "a b" }), "register.ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkField(t, CheckBeat(&tt.b), tt.wantField) })
	}
}

// newTestTransport builds a transport of node "n9".
func newTestTransport(t *testing.T) *Transport {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Self = "n9"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

// clockedTransport builds a transport of node "a" whose clock reads
// *now; the caller closes it.
func clockedTransport(t *testing.T, now *time.Time) *Transport {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Self = "a"
	cfg.Now = func() time.Time { return *now }
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// mergeCounter is a Receiver that counts the records it merges.
type mergeCounter struct {
	storeReceiver
	merged int
}

func (r *mergeCounter) Merge(recs []store.Record, fresh bool) int {
	r.merged += len(recs)
	return len(recs)
}

// TestServer_invalidDeltasRefused posts deltas holding one invalid record
// among valid ones, as JSON and as MessagePack, replicated and repair:
// each is answered 400 naming the record and the field, nothing is
// merged, and the record is counted.
func TestServer_invalidDeltasRefused(t *testing.T) {
	tr := newTestTransport(t)
	recv := &mergeCounter{}
	s := NewServer(tr, recv)
	recs := sampleRecords(3)
	recs[2].Instance.BeatTimeout = math.MaxInt64
	for _, repair := range []bool{false, true} {
		req := &deltasRequest{Records: recs, Repair: repair}
		mp, _, _ := encodeBody(req)
		js, _ := json.Marshal(req)
		for ctype, body := range map[string][]byte{msgpackType: mp, "application/json": js} {
			before := tr.Stats().RecordsRefused.Load()
			r := httptest.NewRequest(http.MethodPost, "/internal/v1/deltas", bytes.NewReader(body))
			r.Header.Set("Content-Type", ctype)
			w := httptest.NewRecorder()
			s.deltas(w, r, Member{Name: "n0"})
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "record 2: invalid instance.beatTimeout") {
				t.Errorf("%s repair=%v: got %d %s, want 400 naming record 2 and instance.beatTimeout", ctype, repair, w.Code, w.Body)
			}
			if got := tr.Stats().RecordsRefused.Load() - before; got != 1 {
				t.Errorf("%s repair=%v: counted %d refused records, want 1", ctype, repair, got)
			}
		}
	}
	if recv.merged != 0 {
		t.Fatalf("merged %d records of refused requests, want none", recv.merged)
	}
}

// TestTransport_invalidAnswersFail serves a dump and a pull answer
// holding an invalid record: Dump and Pull fail naming it, and count it.
func TestTransport_invalidAnswersFail(t *testing.T) {
	recs := sampleRecords(2)
	recs[0].Instance.Port = 0
	pull, _, _ := encodeBody(&deltasRequest{Records: recs})
	dump, _, _ := encodeBody(&dumpReply{Records: recs})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", msgpackType)
		if strings.HasSuffix(r.URL.Path, "/dump") {
			_, _ = w.Write(dump)
			return
		}
		_, _ = w.Write(pull)
	}))
	defer hs.Close()
	tr := newTestTransport(t)
	m := Member{Name: "n1", HTTPAddr: hs.Listener.Addr().(*net.TCPAddr).String()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, pullErr := tr.Pull(ctx, m, []int{0}, map[uint64]bool{1: true})
	_, dumpErr := tr.Dump(ctx, m)
	for name, err := range map[string]error{"pull": pullErr, "dump": dumpErr} {
		var bad *RecordError
		if !errors.As(err, &bad) || bad.Index != 0 || !strings.Contains(fmt.Sprint(err), "instance.port") {
			t.Errorf("%s: got %v, want a RecordError naming record 0 and instance.port", name, err)
		}
	}
	if got := tr.Stats().RecordsRefused.Load(); got != 2 {
		t.Fatalf("counted %d refused records, want 2", got)
	}
}
