package gossip

// Node metadata travels in every memberlist alive message, which caps it at
// memberlist.MetaMaxSize (512) bytes. The encoding is a version byte followed
// by fields in a fixed order:
//
//	version   1 byte, metaVersion
//	httpLen   uvarint
//	httpAddr  httpLen bytes
//	epoch     varint (zig-zag)
//	flags     1 byte: bit 0 ready; other bits reserved, ignored when read
//
// A decoder reads the fields it knows and ignores any bytes after them, so a
// later release may append fields without changing the version; the version
// changes only when the layout of existing fields does. Decoding never
// panics: bad input from a peer gives an error, and the peer is reported
// with a zero Meta.

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// metaVersion is the first byte of every encoded Meta.
const metaVersion byte = 1

// Meta is the metadata a node publishes to the cluster.
type Meta struct {
	// HTTPAddr is the host:port of the node's HTTP API, which peers use for
	// replication and forwarding. It may be empty.
	HTTPAddr string

	// Epoch is the node's boot time in Unix nanoseconds. Together with the
	// node name it identifies one run of a node: a restarted node has a new
	// Epoch. New fills in the current time when it is zero.
	Epoch int64

	// Ready reports that the node has loaded the registry and takes part in
	// ownership. Change it with Gossip.SetReady; peers then get an
	// EventUpdate.
	Ready bool
}

// metaFlagReady is bit 0 of the flags byte.
const metaFlagReady byte = 1 << 0

var (
	errMetaEmpty     = errors.New("empty")
	errMetaTruncated = errors.New("truncated")
)

// encodeMeta returns the wire form of m, or an error if it would not fit in
// memberlist's metadata limit.
func encodeMeta(m Meta) ([]byte, error) {
	buf := make([]byte, 0, 2+binary.MaxVarintLen64*2+len(m.HTTPAddr))
	buf = append(buf, metaVersion)
	buf = binary.AppendUvarint(buf, uint64(len(m.HTTPAddr)))
	buf = append(buf, m.HTTPAddr...)
	buf = binary.AppendVarint(buf, m.Epoch)
	var flags byte
	if m.Ready {
		flags |= metaFlagReady
	}
	buf = append(buf, flags)
	if len(buf) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("gossip: meta is %d bytes, limit %d", len(buf), memberlist.MetaMaxSize)
	}
	return buf, nil
}

// decodeMeta parses what encodeMeta produced. It does not retain buf.
func decodeMeta(buf []byte) (Meta, error) {
	if len(buf) == 0 {
		return Meta{}, fmt.Errorf("gossip: decode meta: %w", errMetaEmpty)
	}
	if buf[0] != metaVersion {
		return Meta{}, fmt.Errorf("gossip: decode meta: unknown version %d", buf[0])
	}
	rest := buf[1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return Meta{}, fmt.Errorf("gossip: decode meta: http addr: %w", errMetaTruncated)
	}
	rest = rest[k:]
	addr := string(rest[:n])
	rest = rest[n:]
	epoch, k := binary.Varint(rest)
	if k <= 0 {
		return Meta{}, fmt.Errorf("gossip: decode meta: epoch: %w", errMetaTruncated)
	}
	rest = rest[k:]
	if len(rest) == 0 {
		return Meta{}, fmt.Errorf("gossip: decode meta: flags: %w", errMetaTruncated)
	}
	return Meta{HTTPAddr: addr, Epoch: epoch, Ready: rest[0]&metaFlagReady != 0}, nil
}
