package agent_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
)

// beatTarget is one Nacos instance (ip:80 of service svc) beaten through
// node.
type beatTarget struct {
	node    *agent.Agent
	svc, ip string
}

// beatInBackground beats every target that targets returns, each every
// interval, in a goroutine of its own until the test ends. A test whose
// checks take long on a loaded machine then never leaves an instance that
// should be beating silent past its timeout; the beats' own timing is what
// the test controls. The beats of a round go out at once: on a loaded
// machine one request can take a few hundred milliseconds, and forty in a
// row would leave each instance silent for seconds. A target's silence is
// then at most one request's time (bounded by beatOnce) plus interval.
func beatInBackground(t *testing.T, every time.Duration, targets func() []beatTarget) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			var round sync.WaitGroup
			for _, b := range targets() {
				round.Go(func() { beatOnce(ctx, b) })
			}
			round.Wait()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// beatOnce sends one Nacos beat of b; errors are the checks' business.
func beatOnce(ctx context.Context, b beatTarget) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	form := "serviceName=" + b.svc + "&ip=" + b.ip + "&port=80"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base(b.node)+"/nacos/v1/ns/instance/beat", strings.NewReader(form))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}
