package durable

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/roster-io/roster/store"
)

// op is one queued change of the data file: a record to put, or a key to
// delete (an instance that turned ephemeral).
type op struct {
	bucket []byte
	key    []byte
	rec    store.Record
	del    bool
}

// writer is the queue between the store's lock and the commit goroutine.
type writer struct {
	// mu guards pending, enqueued, failedUpTo, committed, err and notify.
	mu         sync.Mutex
	pending    []op
	enqueued   uint64 // ops queued ever
	committed  uint64 // ops on disk
	failedUpTo uint64 // the ops the last failed commit held
	err        error  // of the last commit; nil after a success
	notify     chan struct{}
	kick       chan struct{}

	commits atomic.Uint64 // transactions committed
	written atomic.Uint64 // records written
	failed  atomic.Uint64 // commits failed
}

func (w *writer) init() {
	w.notify = make(chan struct{})
	w.kick = make(chan struct{}, 1)
}

// add queues o and wakes the committer.
func (w *writer) add(o op) {
	w.mu.Lock()
	w.pending = append(w.pending, o)
	w.enqueued++
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// take returns what is queued and the count it brings the disk up to.
func (w *writer) take() ([]op, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ops := w.pending
	w.pending = nil
	return ops, w.enqueued
}

// done records a commit attempt of ops, which brought the disk up to upTo
// if err is nil; a failed batch goes back to the front of the queue.
func (w *writer) done(ops []op, upTo uint64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.pending = append(ops, w.pending...)
		w.failedUpTo, w.err = upTo, err
	} else {
		w.committed, w.err = upTo, nil
	}
	close(w.notify)
	w.notify = make(chan struct{})
}

// Instance queues a persistent instance record, or its tombstone, or the
// removal of one that was persistent and is now ephemeral
// (store.Journal). Ephemeral instances are not written.
func (db *DB) Instance(k store.Key, prev, next *store.Instance) {
	if next.Ephemeral && (prev == nil || prev.Ephemeral) {
		return
	}
	o := op{bucket: bucketInstances, key: instanceKey(k, next.InstanceKey)}
	if next.Ephemeral && !next.Deleted {
		o.del = true
	} else {
		o.rec = store.Record{Key: k, Instance: next}
	}
	db.w.add(o)
}

// Service queues a service record (store.Journal).
func (db *DB) Service(k store.Key, info *store.ServiceInfo) {
	db.w.add(op{bucket: bucketServices, key: serviceKey(k), rec: store.Record{Key: k, Service: info}})
}

// ErrNotDurable means a write could not be made durable in time.
var ErrNotDurable = errors.New("durable: write not on disk")

// Sync waits until everything queued before the call is on disk. It fails
// when a commit holding it fails, or after SyncTimeout.
func (db *DB) Sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, db.cfg.SyncTimeout)
	defer cancel()
	w := &db.w
	w.mu.Lock()
	target := w.enqueued
	for w.committed < target {
		if w.err != nil && w.failedUpTo >= target {
			err := w.err
			w.mu.Unlock()
			return fmt.Errorf("%w: %v", ErrNotDurable, err)
		}
		ch := w.notify
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrNotDurable, ctx.Err())
		case <-db.stop:
			return fmt.Errorf("%w: the data file is closing", ErrNotDurable)
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return nil
}

// Stats are the writer's counters.
type Stats struct {
	Commits, Records, Failed uint64
	Pending                  int
}

// Stats returns the writer's counters.
func (db *DB) Stats() Stats {
	db.w.mu.Lock()
	pending := len(db.w.pending)
	db.w.mu.Unlock()
	return Stats{Commits: db.w.commits.Load(), Records: db.w.written.Load(), Failed: db.w.failed.Load(), Pending: pending}
}

// Attach makes db the journal of st and starts the committer. Call it
// after Load.
func (db *DB) Attach(st *store.Store) {
	st.SetJournal(db)
	db.wg.Go(func() { db.run(st.Clock) })
}

// run commits what is queued, one transaction at a time, until Close.
func (db *DB) run(clock func() int64) {
	tick := time.NewTicker(db.cfg.ClockEvery)
	defer tick.Stop()
	purge := time.NewTicker(min(db.cfg.TombstoneTTL/2, 30*time.Second))
	defer purge.Stop()
	var lastClock int64
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-db.stop:
			return
		case <-db.w.kick:
		case <-tick.C:
		case <-purge.C:
			db.purgeTombstones()
			continue
		}
		ops, upTo := db.w.take()
		c := clock()
		if len(ops) == 0 && c == lastClock {
			continue
		}
		err := db.commit(ops, c)
		db.w.done(ops, upTo, err)
		if err == nil {
			lastClock, backoff = c, 50*time.Millisecond
			continue
		}
		db.w.failed.Add(1)
		db.log.Error("durable: commit to the data file failed; client writes get 503 until it succeeds",
			"file", db.path, "records", len(ops), "err", err)
		select {
		case <-db.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
		db.kickSelf()
	}
}

func (db *DB) kickSelf() {
	select {
	case db.w.kick <- struct{}{}:
	default:
	}
}

// commit writes ops and the clock's high-water mark in one fsynced
// transaction.
func (db *DB) commit(ops []op, clock int64) error {
	var graves []grave
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, o := range ops {
			b := tx.Bucket(o.bucket)
			if o.del {
				if err := b.Delete(o.key); err != nil {
					return err
				}
				continue
			}
			v, err := encodeValue(o.rec)
			if err != nil {
				return err
			}
			if err := b.Put(o.key, v); err != nil {
				return err
			}
			if c, ok := tombstoneClock(o.rec); ok {
				graves = append(graves, grave{bucket: o.bucket, key: o.key, clock: c})
			}
		}
		return tx.Bucket(bucketMeta).Put(keyClock, clockBytes(clock))
	})
	if err != nil {
		return fmt.Errorf("durable: commit %s: %w", db.path, err)
	}
	db.w.commits.Add(1)
	db.w.written.Add(uint64(len(ops)))
	db.graves = append(db.graves, graves...)
	return nil
}
