package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/bench"
)

// The Go-client register mode registers every instance through a few
// client objects, and the agents saw fewer requests than registrations
// (16 workers over 2 clients: registrations gather behind the one in
// flight).
func TestSmoke_registerGo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := smokeEnv(t)
	env.Concurrency, env.Duration = 16, 10*time.Second
	r, err := bench.RegisterGo(ctx, env, bench.RegisterConfig{Instances: 600, Services: 10, Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := figure(t, r, "registered"); got != 600 {
		t.Errorf("got %v registered, want 600; notes %v", got, r.Notes)
	}
	if got := figure(t, r, "errors"); got != 0 {
		t.Errorf("got %v errors, want 0; notes %v", got, r.Notes)
	}
	if _, ok := r.Figure("all nodes list all, after last ack"); !ok {
		t.Errorf("no convergence figure; notes %v", r.Notes)
	}
	batches, perReq := figure(t, r, "batch requests"), figure(t, r, "registrations per client request")
	t.Logf("%v batch requests, %.2f registrations per request", batches, perReq)
	if batches < 1 || perReq < 1.1 {
		t.Errorf("%v batch requests, %.2f registrations per request: want batches and fewer requests than registrations", batches, perReq)
	}
}
