package param

import (
	"strconv"
	"time"
)

// Metadata keys with which an instance overrides its heartbeat timing, in
// milliseconds, as in Nacos.
const (
	KeyBeatInterval  = "preserved.heart.beat.interval"
	KeyBeatTimeout   = "preserved.heart.beat.timeout"
	KeyDeleteTimeout = "preserved.ip.delete.timeout"
)

// Nacos' default heartbeat timing.
const (
	// DefaultBeatInterval is how often a client beats.
	DefaultBeatInterval = 5 * time.Second
	// DefaultBeatTimeout is how long without a beat marks an instance unhealthy.
	DefaultBeatTimeout = 15 * time.Second
	// DefaultDeleteTimeout is how long without a beat removes an instance.
	DefaultDeleteTimeout = 30 * time.Second
)

// MaxBeatTiming is the largest heartbeat interval or timeout metadata may set.
const MaxBeatTiming = 24 * time.Hour

// HeartbeatMillis reads an instance's heartbeat timing from its metadata: the
// values of KeyBeatInterval, KeyBeatTimeout and KeyDeleteTimeout, each a
// positive integer of milliseconds no larger than MaxBeatTiming. An absent or
// empty key takes its Nacos default. Errors name the offending key.
func HeartbeatMillis(md map[string]string) (interval, timeout, deleteTimeout time.Duration, err error) {
	if interval, err = beatMillis(md, KeyBeatInterval, DefaultBeatInterval); err != nil {
		return 0, 0, 0, err
	}
	if timeout, err = beatMillis(md, KeyBeatTimeout, DefaultBeatTimeout); err != nil {
		return 0, 0, 0, err
	}
	if deleteTimeout, err = beatMillis(md, KeyDeleteTimeout, DefaultDeleteTimeout); err != nil {
		return 0, 0, 0, err
	}
	return interval, timeout, deleteTimeout, nil
}

// beatMillis reads one timing key of md.
func beatMillis(md map[string]string, key string, def time.Duration) (time.Duration, error) {
	v := md[key]
	if v == "" {
		return def, nil
	}
	const maxMs = int64(MaxBeatTiming / time.Millisecond)
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !isDigits(v) || ms < 1 || ms > maxMs {
		return 0, keyError("metadata", key, "must be an integer of milliseconds between 1 and "+strconv.FormatInt(maxMs, 10))
	}
	return time.Duration(ms) * time.Millisecond, nil
}
