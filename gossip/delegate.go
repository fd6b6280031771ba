package gossip

import (
	"sync"

	"github.com/hashicorp/memberlist"
)

var _ memberlist.Delegate = (*delegate)(nil)

// delegate gives memberlist this node's metadata. Registry replication runs
// over HTTP, so the user-message and state-exchange hooks are empty. It is
// safe for concurrent use.
type delegate struct {
	// mu guards meta and buf.
	mu   sync.Mutex
	meta Meta
	buf  []byte // encodeMeta(meta)
}

// newDelegate returns a delegate publishing m, which Config.Validate
// checked.
func newDelegate(m Meta) (*delegate, error) {
	d := &delegate{}
	if err := d.set(m); err != nil {
		return nil, err
	}
	return d, nil
}

// set replaces the published metadata. memberlist sends it with the next
// alive message (memberlist.UpdateNode).
func (d *delegate) set(m Meta) error {
	buf, err := encodeMeta(m)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.meta, d.buf = m, buf
	d.mu.Unlock()
	return nil
}

// get returns the published metadata.
func (d *delegate) get() Meta {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meta
}

// NodeMeta returns the encoded Meta, which fits memberlist's limit.
func (d *delegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.buf) > limit {
		return nil
	}
	return d.buf
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}
