package bench

import (
	"os"
	"testing"
)

func TestRSSBytes(t *testing.T) {
	got, err := rssBytes(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	// A Go test binary is more than 1 MiB resident and far less than 64 GiB.
	if got < 1<<20 || got > 64<<30 {
		t.Fatalf("rss of this process %d bytes, not plausible", got)
	}
	if _, err := rssBytes(-1); err == nil {
		t.Fatalf("rss of pid -1: no error")
	}
}
