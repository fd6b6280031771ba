// Package durable keeps what must survive a restart of every node on
// disk: persistent instances, service records, the tombstones of both
// until their TTL, and the node's version-clock high-water mark.
// Ephemeral instances stay in memory: their clients bring them back.
//
// It is a journal of the store (store.Journal): the store tells it of
// every record it applies, under the store's lock; the journal only
// queues the record. One writer goroutine commits what is queued in one
// bbolt transaction, fsynced, so many writes share one fsync (group
// commit), and Sync lets a client write wait until its record is on disk
// before it is acknowledged.
//
// The data file is one bbolt database, DIR/roster.db. Every value carries
// a CRC-32C of its bytes, and Open checks bbolt's page structure, so a
// damaged file stops the node with an error that names the file and what
// to do, never a silent start with an empty registry. The file records
// the node name and a fingerprint of the cluster secret it was written
// for, and refuses another.
package durable

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/roster-io/roster/store"
)

// FileName is the data file's name inside the data directory.
const FileName = "roster.db"

// formatVersion is the layout of the data file this package writes.
const formatVersion = 1

var (
	bucketMeta      = []byte("meta")
	bucketInstances = []byte("instances")
	bucketServices  = []byte("services")

	keyFormat  = []byte("format")
	keyNode    = []byte("node")
	keyCluster = []byte("cluster")
	keyClock   = []byte("clock")
)

// ErrCorrupt marks a data file that cannot be read back.
var ErrCorrupt = errors.New("durable: data file is damaged")

// ErrIdentity marks a data directory written by another node or cluster.
var ErrIdentity = errors.New("durable: data directory belongs to another node or cluster")

// Config configures a DB.
type Config struct {
	// Dir is the data directory; created if missing.
	Dir string
	// Node is this node's name; a data file written by another name is
	// refused.
	Node string
	// Cluster is a fingerprint of the cluster secret, or "" when there is
	// none; a data file written for another fingerprint is refused.
	Cluster string
	// TombstoneTTL is how long tombstones are kept (the store's).
	TombstoneTTL time.Duration
	// SyncTimeout bounds how long Sync waits for a commit. Default 10s.
	SyncTimeout time.Duration
	// ClockEvery is how often the version-clock high-water mark is
	// written when no record is. Default 1s.
	ClockEvery time.Duration
	// Logger receives the package's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DB is an open data directory. It is safe for concurrent use.
type DB struct {
	cfg  Config
	path string
	bolt *bolt.DB
	log  *slog.Logger
	w    writer
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	// graves are the tombstones on disk in the order they were written;
	// Load fills it, then only the writer goroutine touches it.
	graves []grave
}

// Open opens (creating if needed) the data directory of cfg, checks the
// data file and its identity, and returns the DB. It starts no goroutine
// until Attach.
func Open(cfg Config) (db *DB, err error) {
	if cfg.Dir == "" || cfg.Node == "" {
		return nil, errors.New("durable: config: data directory and node name must be set")
	}
	if cfg.TombstoneTTL <= 0 {
		return nil, fmt.Errorf("durable: config: tombstone ttl %v must be positive", cfg.TombstoneTTL)
	}
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = 10 * time.Second
	}
	if cfg.ClockEvery <= 0 {
		cfg.ClockEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("durable: create data directory: %w", err)
	}
	path := filepath.Join(cfg.Dir, FileName)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, corrupt(path, fmt.Sprint(r))
		}
	}()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("durable: data file %s is locked: another roster process uses this --data-dir", path)
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrChecksum), errors.Is(err, bolt.ErrVersionMismatch):
		return nil, corrupt(path, err.Error())
	case err != nil:
		return nil, fmt.Errorf("durable: open data file %s: %w", path, err)
	}
	db = &DB{cfg: cfg, path: path, bolt: b, log: cfg.Logger, stop: make(chan struct{})}
	db.w.init()
	if err := db.check(); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// corrupt is the error of a damaged data file: what and what to do.
func corrupt(path, why string) error {
	return fmt.Errorf("%w: %s: %s. The node does not start on a damaged file. To recover: stop the node, move the "+
		"data directory %s aside, and start the node again with an empty one: it pulls the registry from its peers "+
		"(if no peer holds it, restore a backup with 'roster snapshot restore' once the node runs)", ErrCorrupt, path, why, filepath.Dir(path))
}

// check verifies the file's identity, writing it into a new file. (Load
// reads every record, which checks the pages on its way; bbolt's own
// tx.Check is not used, as it panics on some damage in a goroutine of its
// own, which no caller can recover.)
func (db *DB) check() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return db.create(tx)
		}
		if f := string(meta.Get(keyFormat)); f != strconv.Itoa(formatVersion) {
			return fmt.Errorf("durable: data file %s has format %q; this roster reads format %d: "+
				"use the roster version that wrote it, or start with an empty --data-dir", db.path, f, formatVersion)
		}
		if n := string(meta.Get(keyNode)); n != db.cfg.Node {
			return fmt.Errorf("%w: %s was written by node %q, not %q: give each node its own --data-dir "+
				"(or start this node with --name %s)", ErrIdentity, db.path, n, db.cfg.Node, n)
		}
		c := string(meta.Get(keyCluster))
		switch {
		case c != "" && db.cfg.Cluster != "" && c != db.cfg.Cluster:
			return fmt.Errorf("%w: %s was written for another cluster (another --cluster-secret or --gossip-key): "+
				"use the data directory of this cluster, or an empty one", ErrIdentity, db.path)
		case c == "" && db.cfg.Cluster != "":
			return meta.Put(keyCluster, []byte(db.cfg.Cluster))
		}
		return nil
	})
}

// create lays out a new data file.
func (db *DB) create(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	for _, b := range [][]byte{bucketInstances, bucketServices} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("durable: %w", err)
		}
	}
	for k, v := range map[string]string{string(keyFormat): strconv.Itoa(formatVersion), string(keyNode): db.cfg.Node,
		string(keyCluster): db.cfg.Cluster} {
		if err := meta.Put([]byte(k), []byte(v)); err != nil {
			return fmt.Errorf("durable: %w", err)
		}
	}
	return nil
}

// Path returns the data file's path.
func (db *DB) Path() string { return db.path }

// Close stops the writer, dropping what it had not committed (as a crash
// would; what was acknowledged is on disk), and closes the file.
func (db *DB) Close() error {
	var err error
	db.once.Do(func() {
		close(db.stop)
		db.wg.Wait()
		err = db.bolt.Close()
	})
	return err
}

// Flush commits everything queued so far and waits for it; for a
// graceful shutdown.
func (db *DB) Flush() error { return db.Sync(context.Background()) }

// clockBytes encodes a version clock.
func clockBytes(c int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(c))
}

// instanceKey is the bbolt key of an instance record: its service and
// instance key, NUL-separated (names cannot hold NUL).
func instanceKey(k store.Key, ik store.InstanceKey) []byte {
	var b bytes.Buffer
	for _, s := range []string{k.Namespace, k.Group, k.Service, ik.Cluster, ik.IP} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	b.WriteString(strconv.Itoa(ik.Port))
	return b.Bytes()
}

// serviceKey is the bbolt key of a service record.
func serviceKey(k store.Key) []byte {
	return []byte(k.Namespace + "\x00" + k.Group + "\x00" + k.Service)
}
