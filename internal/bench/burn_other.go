//go:build !linux

package bench

import "time"

// threadCPU: elsewhere than on Linux the burner measures its slices in
// wall time (the monotonic clock), which burns less when descheduled.
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
