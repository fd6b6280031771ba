package agent

import (
	"context"
	"time"
)

// crash stops the agent the way SIGKILL would look from the network: no
// Leave, no flush, sockets closed at once.
func (a *Agent) crash() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	_ = a.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = a.node.Shutdown(ctx)
	cancel()
	a.wg.Wait()
	a.peers.Close()
	a.nacos.Close()
}
