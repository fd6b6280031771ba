package gossip

import (
	"testing"
	"time"
)

func TestFailedSet_count(t *testing.T) {
	f := newFailedSet()
	f.add("a", "127.0.0.1:1")
	f.add("b", "127.0.0.1:2")
	f.add("a", "127.0.0.1:3") // the same member again
	if got := f.count(time.Hour); got != 2 {
		t.Errorf("count: got %d, want 2", got)
	}
	f.remove("b")
	if got := f.count(time.Hour); got != 1 {
		t.Errorf("count after remove: got %d, want 1", got)
	}
	time.Sleep(2 * time.Millisecond)
	if got := f.count(time.Millisecond); got != 0 {
		t.Errorf("count of failures older than the timeout: got %d, want 0", got)
	}
}
