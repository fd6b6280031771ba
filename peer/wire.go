package peer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/store"
)

// Internal bodies that carry records (deltas, pulls, the sync dump) travel
// as MessagePack: decoding it costs a fraction of what JSON costs, and
// delta decoding was the largest single item in the profile of a
// replicated registration. The store's record types have generated
// encoders (store/*_gen.go); the list around them is encoded here so its
// length can be checked against the body before anything is allocated.
// JSON stays accepted (and is answered to a caller that does not ask for
// MessagePack), which keeps internal requests readable with curl.

// msgpackType is the media type of MessagePack bodies.
const msgpackType = "application/msgpack"

// minRecordBytes is less than the encoding of any record (the keys of its
// map alone are longer); a list claiming more records than the body could
// hold is refused before anything is allocated.
const minRecordBytes = 16

// appendRecords appends recs as a MessagePack array.
func appendRecords(b []byte, recs []store.Record) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(recs)))
	for i := range recs {
		var err error
		if b, err = recs[i].MarshalMsg(b); err != nil {
			return nil, fmt.Errorf("peer: encode record: %w", err)
		}
	}
	return b, nil
}

// readRecords decodes a MessagePack array of records from b and returns
// what follows it.
func readRecords(b []byte) ([]store.Record, []byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: records: %v", errBadMsgpack, err)
	}
	if int(n) > len(b)/minRecordBytes {
		return nil, nil, fmt.Errorf("%w: records: %d claimed in %d bytes", errBadMsgpack, n, len(b))
	}
	recs := make([]store.Record, n)
	for i := range recs {
		if b, err = recs[i].UnmarshalMsg(b); err != nil {
			return nil, nil, fmt.Errorf("%w: record %d: %v", errBadMsgpack, i, err)
		}
	}
	return recs, b, nil
}

// MarshalMsg encodes the request as the array [repair, records].
func (d *deltasRequest) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendBool(b, d.Repair)
	return appendRecords(b, d.Records)
}

// Msgsize bounds the size of MarshalMsg's encoding.
func (d *deltasRequest) Msgsize() int {
	n := msgp.ArrayHeaderSize + msgp.BoolSize + msgp.ArrayHeaderSize
	for i := range d.Records {
		n += d.Records[i].Msgsize()
	}
	return n
}

// UnmarshalMsg decodes what MarshalMsg wrote.
func (d *deltasRequest) UnmarshalMsg(b []byte) (rest []byte, err error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n != 2 {
		return nil, fmt.Errorf("%w: deltas: want [repair, records]", errBadMsgpack)
	}
	if d.Repair, b, err = msgp.ReadBoolBytes(b); err != nil {
		return nil, fmt.Errorf("%w: deltas: repair: %v", errBadMsgpack, err)
	}
	d.Records, rest, err = readRecords(b)
	return rest, err
}

// MarshalMsg encodes the dump as a bare record list.
func (d *dumpReply) MarshalMsg(b []byte) ([]byte, error) { return appendRecords(b, d.Records) }

// UnmarshalMsg decodes what MarshalMsg wrote.
func (d *dumpReply) UnmarshalMsg(b []byte) (rest []byte, err error) {
	d.Records, rest, err = readRecords(b)
	return rest, err
}

// isMsgpack reports whether a Content-Type or Accept header names
// MessagePack.
func isMsgpack(header string) bool {
	if header == msgpackType {
		return true // what peers send; the rest is for other callers
	}
	for _, part := range strings.Split(header, ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == msgpackType {
			return true
		}
	}
	return false
}

// encodeBody encodes v as MessagePack when it can, JSON otherwise, and
// returns the bytes with their media type.
func encodeBody(v any) ([]byte, string, error) {
	if m, ok := v.(msgp.Marshaler); ok {
		var b []byte
		if sz, ok := v.(msgp.Sizer); ok {
			b = make([]byte, 0, sz.Msgsize()) // one allocation, not a doubling series
		}
		b, err := m.MarshalMsg(b)
		return b, msgpackType, err
	}
	b, err := json.Marshal(v)
	return b, "application/json", err
}

// decodeBody decodes body, of media type ctype, into v. When v carries
// records or beats from a peer it then validates them (validate.go),
// counting the invalid ones in st (when not nil): every request a peer
// sends and every answer it gives passes here.
func decodeBody(body []byte, ctype string, v any, st *Stats) error {
	if u, ok := v.(msgp.Unmarshaler); ok && isMsgpack(ctype) {
		rest, err := u.UnmarshalMsg(body)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return fmt.Errorf("%w: %d bytes after the value", errBadMsgpack, len(rest))
		}
	} else if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", errBadJSON, err)
	}
	return checkInbound(v, st)
}

// readBody reads an internal request body of at most limit bytes and
// decodes it into v by its Content-Type (decodeBody).
func readBody(r *http.Request, v any, limit int64, st *Stats) error {
	var body []byte
	var err error
	if fb, ok := r.Body.(*inFrame); ok && int64(len(fb.b)) <= limit {
		// A stream frame's body, already in memory: decoded in place.
		return decodeBody(fb.b, r.Header.Get("Content-Type"), v, st)
	}
	if n := r.ContentLength; n >= 0 && n <= min(limit, streamMaxFrame) {
		// The length is known (always, from a peer), and small enough
		// to allocate before the bytes arrive: read it into one buffer
		// of that size rather than a growing series.
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		return fmt.Errorf("%w: read body: %v", errBadJSON, err)
	}
	if int64(len(body)) > limit {
		return errTooLarge
	}
	return decodeBody(body, r.Header.Get("Content-Type"), v, st)
}

// inFrame is the body of a request that came as a stream frame: its
// bytes are already in memory, so readBody decodes them where they are
// instead of copying them out through the reader.
type inFrame struct {
	*bytes.Reader
	b []byte
}

// Close implements io.Closer.
func (*inFrame) Close() error { return nil }

// jsonType is the Content-Type value of JSON answers, shared so that
// setting it allocates nothing.
var jsonType = []string{"application/json"}

// writeApplied answers a deltas request with deltasReply{Applied: n} as
// JSON, encoded by hand: it is sent once per batch of deltas.
func writeApplied(w http.ResponseWriter, n int) {
	var buf [32]byte
	b := append(buf[:0], `{"applied":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '}')
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeBody answers v as MessagePack when the caller accepts it and v can
// be encoded so, as JSON otherwise.
func writeBody(w http.ResponseWriter, r *http.Request, status int, v any) {
	m, ok := v.(msgp.Marshaler)
	if !ok || !isMsgpack(r.Header.Get("Accept")) {
		writeJSON(w, status, v)
		return
	}
	var b []byte
	if sz, ok := v.(msgp.Sizer); ok {
		b = make([]byte, 0, sz.Msgsize())
	}
	b, err := m.MarshalMsg(b)
	if err != nil {
		writeError(w, fmt.Errorf("peer: encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", msgpackType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// MarshalMsg encodes the reply as an array of binary summaries.
func (s *summaryReply) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(s.Summaries)))
	for _, sum := range s.Summaries {
		b = msgp.AppendBytes(b, sum)
	}
	return b, nil
}

// UnmarshalMsg decodes what MarshalMsg wrote.
func (s *summaryReply) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: summaries: %v", errBadMsgpack, err)
	}
	if int(n) > len(b) {
		return nil, fmt.Errorf("%w: summaries: %d claimed in %d bytes", errBadMsgpack, n, len(b))
	}
	s.Summaries = make([][]byte, n)
	for i := range s.Summaries {
		if s.Summaries[i], b, err = msgp.ReadBytesZC(b); err != nil {
			return nil, fmt.Errorf("%w: summary %d: %v", errBadMsgpack, i, err)
		}
	}
	return b, nil
}

// DigestRoot hashes a digest vector: two replicas whose roots match hold
// the same records.
func DigestRoot(d []uint64) uint64 {
	h := fnv.New64a()
	h.Write(encodeWords(d))
	return h.Sum64()
}

// encodeWords packs uint64s (digests, record IDs) little-endian.
func encodeWords(d []uint64) []byte {
	b := make([]byte, 8*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// decodeWords unpacks encodeWords' output; a trailing partial word is
// ignored.
func decodeWords(b []byte) []uint64 {
	d := make([]uint64, len(b)/8)
	for i := range d {
		d[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return d
}

// encodeIDs packs a set of record IDs.
func encodeIDs(ids map[uint64]bool) []byte {
	return encodeWords(slices.Collect(maps.Keys(ids)))
}

// decodeIDs unpacks encodeIDs' output.
func decodeIDs(b []byte) map[uint64]bool {
	ids := map[uint64]bool{}
	for _, id := range decodeWords(b) {
		ids[id] = true
	}
	return ids
}
