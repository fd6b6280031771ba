package durable

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime/debug"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/roster-io/roster/store"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeValue is a record as stored: a CRC-32C of the MessagePack record,
// then the record.
func encodeValue(r store.Record) ([]byte, error) {
	b, err := r.MarshalMsg(make([]byte, 4, 4+r.Msgsize()))
	if err != nil {
		return nil, fmt.Errorf("durable: encode %s: %w", r.Key, err)
	}
	binary.BigEndian.PutUint32(b, crc32.Checksum(b[4:], castagnoli))
	return b, nil
}

// decodeValue checks and decodes a stored record.
func decodeValue(v []byte) (store.Record, error) {
	var r store.Record
	if len(v) < 4 {
		return r, errors.New("value shorter than its checksum")
	}
	if binary.BigEndian.Uint32(v) != crc32.Checksum(v[4:], castagnoli) {
		return r, errors.New("checksum mismatch")
	}
	rest, err := r.UnmarshalMsg(v[4:])
	switch {
	case err != nil:
		return r, err
	case len(rest) != 0:
		return r, errors.New("trailing bytes")
	case (r.Instance == nil) == (r.Service == nil):
		return r, errors.New("neither an instance nor a service record")
	}
	return r, nil
}

// tombstoneClock returns the version clock of a tombstone record.
func tombstoneClock(r store.Record) (int64, bool) {
	switch {
	case r.Instance != nil && r.Instance.Deleted:
		return r.Instance.Version.Clock, true
	case r.Service != nil && r.Service.Deleted:
		return r.Service.Version.Clock, true
	}
	return 0, false
}

// grave is a tombstone on disk waiting out the TTL.
type grave struct {
	bucket, key []byte
	clock       int64
}

// Loaded says what Load found.
type Loaded struct {
	Instances, Services, Tombstones int
	Clock                           int64 // the high-water mark moved past
}

// Load reads every record of the data file into st (which must not have
// the DB attached yet) and moves st's version clock past the high-water
// mark. A record that fails its checksum or does not decode is an error
// naming the file: the node must not start on part of its data.
//
// bbolt follows page references without guarding against loops, so a
// damaged file can make a read spin for ever: Load gives up after
// loadDeadline (30 s plus 1 s per 8 MiB of file) and reports the file as
// damaged. The process exits then, which ends the spinning read.
func (db *DB) Load(st *store.Store) (Loaded, error) {
	type result struct {
		l   Loaded
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := db.load(st)
		done <- result{l, err}
	}()
	limit := 30 * time.Second
	if fi, err := os.Stat(db.path); err == nil {
		limit += time.Duration(fi.Size()/(8<<20)) * time.Second
	}
	select {
	case r := <-done:
		return r.l, r.err
	case <-time.After(limit):
		return Loaded{}, corrupt(db.path, fmt.Sprintf("reading it did not finish within %v (a page refers back to itself)", limit))
	}
}

// load is Load without the deadline.
func (db *DB) load(st *store.Store) (l Loaded, err error) {
	// A damaged page can make bbolt read past the file or fail one of its
	// assertions: both become an error here, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(db.path, fmt.Sprint(r))
		}
	}()
	var recs []store.Record
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyClock); v != nil {
			if len(v) != 8 {
				return corrupt(db.path, "the clock high-water mark is not 8 bytes")
			}
			l.Clock = int64(binary.BigEndian.Uint64(v))
		}
		for _, name := range [][]byte{bucketInstances, bucketServices} {
			b := tx.Bucket(name)
			if b == nil {
				return corrupt(db.path, "bucket "+string(name)+" is missing")
			}
			err := b.ForEach(func(k, v []byte) error {
				r, err := decodeValue(v)
				if err != nil {
					return corrupt(db.path, fmt.Sprintf("%s record %q: %v", name, k, err))
				}
				if c, ok := tombstoneClock(r); ok {
					db.graves = append(db.graves, grave{bucket: name, key: slices.Clone(k), clock: c})
				}
				recs = append(recs, r)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return l, err
	}
	slices.SortFunc(db.graves, func(a, b grave) int { return cmp.Compare(a.clock, b.clock) })
	for _, r := range recs {
		l.Clock = max(l.Clock, recordClock(r))
		switch {
		case r.Instance != nil:
			st.Merge(r.Key, *r.Instance)
			if r.Instance.Deleted {
				l.Tombstones++
			} else {
				l.Instances++
			}
		default:
			st.MergeService(r.Key, *r.Service)
			if r.Service.Deleted {
				l.Tombstones++
			} else {
				l.Services++
			}
		}
	}
	// Versions issued after the mark was last written are at most about
	// one ClockEvery newer: start past that too.
	st.ObserveClock(l.Clock + int64(db.cfg.ClockEvery) + int64(time.Millisecond))
	return l, nil
}

func recordClock(r store.Record) int64 {
	if r.Instance != nil {
		return r.Instance.Version.Clock
	}
	return r.Service.Version.Clock
}

// purgeTombstones deletes the tombstones on disk older than the TTL that
// are still the record their key holds. It runs on the writer goroutine.
func (db *DB) purgeTombstones() {
	cutoff := db.cfg.Now().Add(-db.cfg.TombstoneTTL).UnixNano()
	n := 0
	for n < len(db.graves) && db.graves[n].clock <= cutoff && n < 5000 {
		n++
	}
	if n == 0 {
		return
	}
	due := db.graves[:n]
	purged := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, g := range due {
			b := tx.Bucket(g.bucket)
			v := b.Get(g.key)
			if v == nil {
				continue
			}
			if r, err := decodeValue(v); err == nil {
				if c, ok := tombstoneClock(r); !ok || c != g.clock {
					continue // replaced since
				}
			}
			if err := b.Delete(g.key); err != nil {
				return err
			}
			purged++
		}
		return nil
	})
	if err != nil {
		db.log.Error("durable: dropping expired tombstones failed; retried later", "file", db.path, "err", err)
		return
	}
	db.graves = slices.Delete(db.graves, 0, n)
	db.log.Debug("durable: expired tombstones dropped", "count", purged)
}
