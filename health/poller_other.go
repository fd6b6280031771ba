//go:build !linux

package health

import "time"

// maxPending: no poller elsewhere than on Linux (poller_linux.go).
const maxPending = 0

// poller: elsewhere than on Linux, workers make every check.
type poller struct{}

func newPoller(chan<- result, <-chan struct{}) (*poller, error) { return nil, nil }
func (*poller) full() bool                                      { return false }
func (*poller) wake()                                           {}
func (*poller) run()                                            {}
func (*poller) close()                                          {}

func (c *Checker) connectTCP(*target, time.Time) {}
