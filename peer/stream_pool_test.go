package peer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// taggedReceiver checks that every request it merges is one whole
// request as its sender built it: all its records carry the same tag
// and there are as many as the tag says.
type taggedReceiver struct {
	*streamReceiver
	mu   sync.Mutex
	seen map[string]bool
	bad  []string
}

func (r *taggedReceiver) Merge(recs []store.Record, fresh bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	tag := ""
	for i, rec := range recs {
		got := rec.Instance.Metadata["req"]
		if i == 0 {
			tag = got
		}
		if got != tag || rec.Instance.Port != 8080+i {
			r.bad = append(r.bad, fmt.Sprintf("record %d of %q: tag %q port %d", i, tag, got, rec.Instance.Port))
		}
	}
	var n int
	if _, err := fmt.Sscanf(tag, "%d/", &n); err != nil || n != len(recs) {
		r.bad = append(r.bad, fmt.Sprintf("request %q holds %d records", tag, len(recs)))
	}
	r.seen[tag] = true
	return r.streamReceiver.Merge(recs, fresh)
}

// taggedRecords is request id's records: n of them, each tagged.
func taggedRecords(id string, n int) []store.Record {
	recs := sampleRecords(n)[:n]
	for i := range recs {
		in := *recs[i].Instance
		in.Metadata = map[string]string{"req": fmt.Sprintf("%d/%s", n, id)}
		recs[i].Instance = &in
	}
	return recs
}

// TestStream_pooledBodiesArriveWhole: request bodies are encoded into
// pooled buffers that the stream's writer releases once it wrote them,
// and delta requests are read into pooled buffers released once served;
// many requests of different sizes sent at once over a signed stream
// each arrive whole and unmixed (a buffer released or reused too early
// mixes two requests, and the race detector sees it).
func TestStream_pooledBodiesArriveWhole(t *testing.T) {
	var recv *taggedReceiver
	p := newStreamPairServing(t, []byte("pool-secret"), false, false, nil, func(r *streamReceiver) Receiver {
		recv = &taggedReceiver{streamReceiver: r, seen: map[string]bool{}}
		return recv
	})
	p.waitStream(t)
	const senders, each = 8, 60
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("%d-%d", g, i)
				if err := p.tr.Repair(ctx, p.m, taggedRecords(id, 1+(g*each+i)%40)); err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p.httpReqs.Load() != 0 {
		t.Errorf("%d requests went over HTTP, want all on the stream", p.httpReqs.Load())
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	for _, b := range recv.bad {
		t.Error(b)
	}
	for g := range senders {
		for i := range each {
			n := 1 + (g*each+i)%40
			if id := fmt.Sprintf("%d/%d-%d", n, g, i); !recv.seen[id] {
				t.Errorf("request %s never arrived", id)
			}
		}
	}
}
