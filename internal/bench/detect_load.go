package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// detectLoad keeps every live node busy with client traffic while detect
// kills and restarts nodes: each worker registers an instance, beats it
// and lists its service, over and over, on the nodes in turn. Requests to
// a node that is down fail and are counted; the point is a saturated CPU
// (and a busy gossip layer) during failure detection, so that a node
// wrongly declared dead shows up as a false drop.
type detectLoad struct {
	ok, failed atomic.Int64
	wg         sync.WaitGroup
}

// start runs workers until ctx ends; urls returns the current node URLs.
func (l *detectLoad) start(ctx context.Context, c *Client, workers int, prefix string, urls func() []string) {
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			svc := prefix + "load-" + strconv.Itoa(w%10)
			fails := 0
			for i := 0; ctx.Err() == nil; i++ {
				us := urls()
				base := us[i%len(us)]
				form := registerForm(svc, 100000+w, false, longLived)
				var err error
				switch i % 3 {
				case 0:
					err = c.Form(ctx, http.MethodPost, base, "/nacos/v1/ns/instance", form)
				case 1:
					err = c.Form(ctx, http.MethodPut, base, "/nacos/v1/ns/instance/beat", form)
				default:
					var list json.RawMessage
					_, err = c.GetJSON(ctx, base, "/nacos/v1/ns/instance/list", form, &list)
				}
				switch {
				case err == nil:
					l.ok.Add(1)
					fails = 0
				case ctx.Err() == nil:
					// Go on with the next node; pause only when every node
					// failed in a row, so a dead cluster is not spun on.
					l.failed.Add(1)
					if fails++; fails >= len(us) {
						time.Sleep(10 * time.Millisecond)
					}
				}
			}
		}()
	}
}

// wait waits for the workers to stop.
func (l *detectLoad) wait() { l.wg.Wait() }
