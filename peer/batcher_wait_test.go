package peer

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestBatcher_enqueueWaitPushesBack: with the queue full, enqueueWait
// waits for the room the next request makes instead of dropping the
// item, gives up when its context ends, and does not wait behind a peer
// whose last request failed.
func TestBatcher_enqueueWaitPushesBack(t *testing.T) {
	sizes, release := make(chan int, 10), make(chan struct{})
	b := newBatcher(context.Background(), 2, 8, 0, blockingSend(sizes, release))
	defer b.stop()
	b.enqueue(0, nil)
	<-sizes // in flight
	b.enqueue(1, nil)
	b.enqueue(2, nil) // full
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if b.enqueueWait(short, 3, nil) {
		t.Fatal("enqueueWait queued past the cap while nothing was sent")
	}
	waited := make(chan bool, 1)
	go func() { waited <- b.enqueueWait(context.Background(), 4, nil) }()
	select {
	case <-waited:
		t.Fatal("enqueueWait returned while the queue was full")
	case <-time.After(20 * time.Millisecond):
	}
	close(release) // the batch in flight is answered; the next takes 1 and 2
	select {
	case ok := <-waited:
		if !ok {
			t.Fatal("enqueueWait refused once there was room")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("enqueueWait still waiting after the queue drained")
	}
}

func TestBatcher_enqueueWaitSkipsAFailingPeer(t *testing.T) {
	sizes, release := make(chan int, 10), make(chan struct{})
	fail := errors.New("unreachable")
	calls := 0
	b := newBatcher(context.Background(), 1, 8, 0, func(ctx context.Context, items []int) ([]int, error) {
		calls++
		sizes <- len(items)
		if calls == 1 {
			return nil, fail
		}
		<-release
		return items, nil
	})
	defer func() { close(release); b.stop() }()
	b.enqueue(0, nil)
	<-sizes // failed
	b.enqueue(1, nil)
	<-sizes           // in flight, blocked
	b.enqueue(2, nil) // full
	done := make(chan bool, 1)
	go func() { done <- b.enqueueWait(context.Background(), 3, nil) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("queued past the cap")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("enqueueWait waited behind a peer whose last request failed")
	}
}

// TestBatcher_mergesIntoTheTail: items that want no result fold into the
// last queued item when merge takes them, never into an earlier one, and
// a full queue still takes what folds into its tail.
func TestBatcher_mergesIntoTheTail(t *testing.T) {
	got := make(chan [][]int, 10)
	release := make(chan struct{})
	b := newBatcher(context.Background(), 2, 8, 0, func(ctx context.Context, items [][]int) ([]struct{}, error) {
		got <- slices.Clone(items) // the batcher reuses items
		<-release
		return make([]struct{}, len(items)), nil
	})
	defer b.stop()
	appendTo := func(v int) func(*[]int) bool {
		return func(tail *[]int) bool {
			if len(*tail) == 0 || (*tail)[0] < 0 {
				return false
			}
			*tail = append(*tail, v)
			return true
		}
	}
	ctx := context.Background()
	b.enqueue([]int{-1}, nil)
	<-got // in flight
	b.enqueueOrMerge(ctx, []int{1}, appendTo(1))
	b.enqueueOrMerge(ctx, []int{2}, appendTo(2)) // folds into [1]
	b.enqueue([]int{-2}, nil)                    // not mergeable: the queue is full
	third := make(chan bool, 1)
	go func() { third <- b.enqueueOrMerge(ctx, []int{3}, appendTo(3)) }() // the tail refuses: waits for room
	close(release)
	var all [][]int
	for len(all) < 3 {
		select {
		case items := <-got:
			all = append(all, items...)
		case <-time.After(10 * time.Second):
			t.Fatalf("sent so far %v", all)
		}
	}
	if !<-third {
		t.Fatal("the third item was dropped")
	}
	want := [][]int{{1, 2}, {-2}, {3}}
	for i := range want {
		if len(all[i]) != len(want[i]) || all[i][0] != want[i][0] || all[i][len(all[i])-1] != want[i][len(want[i])-1] {
			t.Fatalf("sent %v, want %v", all, want)
		}
	}
}
