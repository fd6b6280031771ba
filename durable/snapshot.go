package durable

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/roster-io/roster/store"
)

// Snapshots: a backup of the durable part of the registry (live
// persistent instances and service records) in one versioned, checksummed
// file, as `roster snapshot save` writes it.
//
// Layout: the magic "ROSTER-SNAPSHOT\n"; the format (uint32, big
// endian); the creation time (int64 Unix nanoseconds); the record count
// (uint64); each record as a uint32 length and its MessagePack; and a
// SHA-256 of everything before it.

const (
	snapshotMagic  = "ROSTER-SNAPSHOT\n"
	snapshotFormat = 1
	snapshotHeader = len(snapshotMagic) + 4 + 8 + 8
)

// ErrBadSnapshot marks a snapshot that is damaged, truncated or of
// another format.
var ErrBadSnapshot = errors.New("durable: bad snapshot")

// SnapshotRecords returns the records a snapshot keeps: live persistent
// instances and live service records.
func SnapshotRecords(all []store.Record) []store.Record {
	out := all[:0:0]
	for _, r := range all {
		switch {
		case r.Instance != nil && !r.Instance.Deleted && !r.Instance.Ephemeral,
			r.Service != nil && !r.Service.Deleted:
			out = append(out, r)
		}
	}
	return out
}

// EncodeSnapshot returns the snapshot file of recs.
func EncodeSnapshot(recs []store.Record, created time.Time) ([]byte, error) {
	b := []byte(snapshotMagic)
	b = binary.BigEndian.AppendUint32(b, snapshotFormat)
	b = binary.BigEndian.AppendUint64(b, uint64(created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(len(recs)))
	for i := range recs {
		at := len(b)
		b = append(b, 0, 0, 0, 0)
		var err error
		if b, err = recs[i].MarshalMsg(b); err != nil {
			return nil, fmt.Errorf("durable: snapshot record %d: %w", i, err)
		}
		binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

// DecodeSnapshot checks a snapshot file and returns its records and
// creation time. A truncated or damaged file, or one of another format,
// is refused whole.
func DecodeSnapshot(b []byte) ([]store.Record, time.Time, error) {
	bad := func(why string) ([]store.Record, time.Time, error) {
		return nil, time.Time{}, fmt.Errorf("%w: %s", ErrBadSnapshot, why)
	}
	if len(b) < snapshotHeader+sha256.Size || !bytes.HasPrefix(b, []byte(snapshotMagic)) {
		return bad("not a roster snapshot, or cut short")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return bad("checksum mismatch: the file is truncated or damaged")
	}
	p := body[len(snapshotMagic):]
	if f := binary.BigEndian.Uint32(p); f != snapshotFormat {
		return bad(fmt.Sprintf("format %d; this roster reads format %d", f, snapshotFormat))
	}
	created := time.Unix(0, int64(binary.BigEndian.Uint64(p[4:])))
	n := binary.BigEndian.Uint64(p[12:])
	p = p[20:]
	if n > uint64(len(p)/5) {
		return bad(fmt.Sprintf("claims %d records in %d bytes", n, len(p)))
	}
	recs := make([]store.Record, 0, n)
	for i := uint64(0); i < n; i++ {
		if len(p) < 4 || uint64(binary.BigEndian.Uint32(p)) > uint64(len(p)-4) {
			return bad(fmt.Sprintf("record %d is cut short", i))
		}
		l := binary.BigEndian.Uint32(p)
		var r store.Record
		if rest, err := r.UnmarshalMsg(p[4 : 4+l]); err != nil || len(rest) != 0 {
			return bad(fmt.Sprintf("record %d does not decode: %v", i, err))
		}
		recs = append(recs, r)
		p = p[4+l:]
	}
	if len(p) != 0 {
		return bad("bytes after the last record")
	}
	return recs, created, nil
}
