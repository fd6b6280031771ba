package peer

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// What a peer sends into this node's store is validated exactly as
// strictly as a client's request: every record of a deltas request
// (replication or repair), of a dump or pull answer, and every handed-off
// beat with its re-registration. decodeBody checks them whatever the
// encoding, so no record reaches the core unchecked. One invalid entry
// refuses the whole body: a request is answered 400 naming the entry and
// the field and changes nothing; an answer fails the call.

// RecordError refuses a body holding an invalid record or beat.
type RecordError struct {
	What  string // "record" or "beat"
	Index int    // the first invalid entry's position in the body
	Err   error  // a *param.FieldError naming the field
}

func (e *RecordError) Error() string { return fmt.Sprintf("peer: %s %d: %v", e.What, e.Index, e.Err) }

// Unwrap returns the field error.
func (e *RecordError) Unwrap() error { return e.Err }

// inbound is a body that carries records or beats from a peer. check
// returns how many of its entries are invalid and the error of the first.
type inbound interface {
	check() (invalid int, err error)
}

func (d *deltasRequest) check() (int, error) { return checkRecords(d.Records) }
func (d *dumpReply) check() (int, error)     { return checkRecords(d.Records) }

func (b *beatsRequest) check() (int, error) {
	return checkAll("beat", len(b.Beats), func(i int) error { return CheckBeat(&b.Beats[i]) })
}

// checkInbound validates v when it carries records or beats, and counts
// the invalid ones in st (when not nil).
func checkInbound(v any, st *Stats) error {
	in, ok := v.(inbound)
	if !ok {
		return nil
	}
	n, err := in.check()
	if n > 0 && st != nil {
		st.RecordsRefused.Add(uint64(n))
	}
	return err
}

func checkRecords(recs []store.Record) (int, error) {
	return checkAll("record", len(recs), func(i int) error { return CheckRecord(&recs[i]) })
}

// checkAll runs check on entries 0..n-1 and returns how many failed and
// the first failure as a *RecordError.
func checkAll(what string, n int, check func(i int) error) (int, error) {
	invalid, first := 0, error(nil)
	for i := 0; i < n; i++ {
		if err := check(i); err != nil {
			if invalid == 0 {
				first = &RecordError{What: what, Index: i, Err: err}
			}
			invalid++
		}
	}
	return invalid, first
}

// CheckRecord validates a record a peer sent as strictly as the client
// request that could have made it; the error, a *param.FieldError, names
// the field by its JSON path ("key.service", "instance.beatTimeout").
func CheckRecord(r *store.Record) error {
	switch {
	case r.Instance == nil && r.Service == nil:
		return &param.FieldError{Field: "record", Reason: "holds neither instance nor service"}
	case r.Instance != nil && r.Service != nil:
		return &param.FieldError{Field: "record", Reason: "holds both instance and service"}
	}
	if err := checkKey("key.", r.Key); err != nil {
		return err
	}
	if r.Instance != nil {
		return checkInstance("instance.", r.Instance, false)
	}
	s := r.Service
	if err := param.CheckFloat01("service.protectThreshold", s.ProtectThreshold); err != nil {
		return err
	}
	if err := param.CheckMetadata("service.metadata", s.Metadata); err != nil {
		return err
	}
	if err := checkClusters("service.clusters.", s.Clusters); err != nil {
		return err
	}
	return within("service.version.", checkVersion(s.Version))
}

// CheckBeat validates a handed-off beat: its service and instance keys,
// and the instance it re-registers, whose zero heartbeat timings the
// store fills with the defaults and whose version the store sets.
func CheckBeat(b *BeatCall) error {
	if err := checkKey("key.", b.Key); err != nil {
		return err
	}
	if err := checkInstanceKey("instance.", b.Instance); err != nil {
		return err
	}
	if b.Register != nil {
		return checkInstance("register.", b.Register, true)
	}
	return nil
}

// within names a field error's field under prefix ("key." + "service").
// The checks name their fields bare and the path is joined only on
// failure, so checking a valid entry allocates nothing.
func within(prefix string, err error) error {
	fe, ok := err.(*param.FieldError) // as the checks return them
	if !ok {
		return err
	}
	return &param.FieldError{Field: prefix + fe.Field, Reason: fe.Reason}
}

// checkKey validates a service key as param.Name does each part.
func checkKey(prefix string, k store.Key) error {
	if err := checkName("namespace", k.Namespace); err != nil {
		return within(prefix, err)
	}
	if err := checkName("group", k.Group); err != nil {
		return within(prefix, err)
	}
	return within(prefix, checkName("service", k.Service))
}

// checkInstanceKey validates cluster, IP and port as a client request's.
func checkInstanceKey(prefix string, ik store.InstanceKey) error {
	if err := checkName("cluster", ik.Cluster); err != nil {
		return within(prefix, err)
	}
	if !canonicalIP(ik.IP) {
		ip, err := param.IP("ip", ik.IP)
		if err != nil {
			return within(prefix, err)
		}
		if ip != ik.IP {
			return &param.FieldError{Field: prefix + "ip", Reason: fmt.Sprintf("not in canonical form (%s)", ip)}
		}
	}
	return within(prefix, param.CheckPort("port", ik.Port))
}

// canonicalIP reports whether v is an IP address written as param.IP
// writes it (so param.IP would accept it unchanged), without allocating;
// false sends v through param.IP (host names, refusals).
func canonicalIP(v string) bool {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return false
	}
	var buf [64]byte
	return string(a.AppendTo(buf[:0])) == v
}

// checkInstance validates an instance. A re-registration (register) may
// leave heartbeat timings zero and carries no version.
func checkInstance(prefix string, in *store.Instance, register bool) error {
	if err := checkInstanceKey(prefix, in.InstanceKey); err != nil {
		return err
	}
	if err := param.CheckWeight("weight", in.Weight); err != nil {
		return within(prefix, err)
	}
	if err := param.CheckMetadata("metadata", in.Metadata); err != nil {
		return within(prefix, err)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"beatInterval", in.BeatInterval}, {"beatTimeout", in.BeatTimeout}, {"deleteTimeout", in.DeleteTimeout}} {
		if register && f.d == 0 {
			continue
		}
		if f.d < time.Millisecond || f.d > param.MaxBeatTiming {
			return &param.FieldError{Field: prefix + f.name, Reason: fmt.Sprintf("must be between %v and %v", time.Millisecond, param.MaxBeatTiming)}
		}
	}
	if register {
		return nil
	}
	return within(prefix+"version.", checkVersion(in.Version))
}

// checkVersion requires a positive clock and the writing node's name, no
// longer than a name a client may send.
func checkVersion(v store.Version) error {
	if v.Clock <= 0 {
		return &param.FieldError{Field: "clock", Reason: "must be positive"}
	}
	if v.Node == "" {
		return &param.FieldError{Field: "node", Reason: param.ReasonMissing}
	}
	if len(v.Node) > param.MaxNameLen {
		return &param.FieldError{Field: "node", Reason: fmt.Sprintf("longer than %d bytes", param.MaxNameLen)}
	}
	return nil
}

// checkName applies param.Name, which a client's names pass through, and
// refuses what it would have trimmed: no client could register that name.
func checkName(field, v string) error {
	got, err := param.Name(field, v)
	if err != nil {
		return err
	}
	if got != v {
		return &param.FieldError{Field: field, Reason: "has leading or trailing white space"}
	}
	return nil
}

// checkClusters validates a service's cluster settings.
func checkClusters(field string, cs map[string]store.ClusterInfo) error {
	for name, c := range cs {
		if _, err := param.Name(field+"name", name); err != nil {
			return err
		}
		if f, why := c.Check(); f != "" {
			return &param.FieldError{Field: field + name + "." + f, Reason: why}
		}
		if err := param.CheckMetadata(field+name+".metadata", c.Metadata); err != nil {
			return err
		}
	}
	return nil
}
