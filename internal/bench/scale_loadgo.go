package bench

// The scale load's beating instances held by Go clients (--beat-client
// go, the default): each client registers its share of the instances
// through one node (the client's preferred address) and beats them
// straight to each service's owner, the beats of one owner batched in
// PUT /v1/beats once per batch window. With Nacos clients instead, every
// beat is one HTTP request to the node the instance registered on, and
// (N - 1)/N of them are handed to the owner in one more request each:
// at 100 nodes on two cores those 4,000 requests a second for 10,000
// instances left no CPU to register the instances with.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-io/roster/client"
)

// goBeaters is the Go clients holding the beating instances.
type goBeaters struct {
	clients []*client.Client
}

// newGoBeaters makes k clients over urls, client j preferring node
// j·len(urls)/k; every beat's outcome is counted in l.
func newGoBeaters(urls []string, k int, interval time.Duration, l *scaleLoad) (*goBeaters, error) {
	g := &goBeaters{}
	for j := range k {
		start := j * len(urls) / k
		addrs := append(append([]string(nil), urls[start:]...), urls[:start]...)
		c, err := client.New(client.Config{Addrs: addrs, RequestTimeout: 10 * time.Second,
			// The longest window the client allows: the most beats
			// per request.
			BeatBatchWindow: interval / 20,
			OnBeat: func(e client.BeatEvent) {
				if e.Err == nil {
					l.ok.Add(1)
				} else if !errors.Is(e.Err, context.Canceled) {
					l.failed.Add(1)
				}
			}})
		if err != nil {
			g.close()
			return nil, fmt.Errorf("bench: scale: %w", err)
		}
		g.clients = append(g.clients, c)
	}
	return g, nil
}

// register registers the beating instances of s, instance i by client
// i mod k, with up to registerWorkers at once; each beats from its
// registration on. The client retries a failed registration on the next
// nodes itself. It returns how many failed and the last error.
func (g *goBeaters) register(ctx context.Context, s loadShape) (failed int, last error) {
	return s.registerEach(ctx, registerWorkers, func(i int) error {
		_, err := g.clients[i%len(g.clients)].Register(ctx, client.Registration{
			InstanceKey: client.InstanceKey{Service: client.Service{Namespace: Namespace, Name: s.beatService(i)},
				IP: instanceIP(i), Port: 8080},
			// As the Nacos registrations: a slow machine must not
			// expire them mid-run.
			BeatInterval: s.interval, BeatTimeout: 2 * time.Minute, DeleteTimeout: 3 * time.Minute,
		})
		return err
	})
}

// close stops the clients' beats without deregistering: the cluster
// forgets the instances by their timeouts (10,000 deregistrations would
// be a load phase of their own).
func (g *goBeaters) close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range g.clients {
		_ = c.Close(ctx)
	}
}

// register registers the load's beating instances with the configured
// beat client; with Go clients, l holds them until it stops.
func (s *scaleRun) register(ctx context.Context, l *scaleLoad, shape loadShape) (failed, retried int, last error) {
	if !shape.goBeats {
		return registerBeating(ctx, s.c, shape)
	}
	g, err := newGoBeaters(shape.urls, s.cfg.BeatClients, shape.interval, l)
	if err != nil {
		return shape.instances, 0, err
	}
	l.beaters = g
	failed, last = g.register(ctx, shape)
	return failed, 0, last
}
