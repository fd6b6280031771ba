package node

import (
	"context"
	"time"
)

// crash stops the node the way SIGKILL would look from the network: no
// Leave, no flush, sockets closed at once.
func (n *Node) crash() {
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	n.closing.Store(true)
	_ = n.srv.Close()
	n.cancel()
	if n.gossip != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.gossip.Shutdown(ctx)
		cancel()
	}
	n.cluster.stopPeers()
	n.wg.Wait()
	n.peers.close()
}
