package param

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits of an instance's weight.
const (
	MinWeight = 0
	MaxWeight = 10000
)

// portReason refuses a port number.
const portReason = "must be an integer between 1 and 65535"

// Port validates a required port number: a decimal integer from 1 to 65535.
func Port(field, v string) (int, error) {
	if v == "" {
		return 0, missing(field)
	}
	if len(v) > 5 || !isDigits(v) {
		return 0, invalid(field, portReason)
	}
	p, _ := strconv.Atoi(v) // at most 5 digits: cannot fail
	if p < 1 || p > 65535 {
		return 0, invalid(field, portReason)
	}
	return p, nil
}

// Weight validates an optional instance weight: a finite number from
// MinWeight to MaxWeight. It returns def when v is empty.
func Weight(field, v string, def float64) (float64, error) {
	return floatIn(field, v, def, MinWeight, MaxWeight)
}

// Float01 validates an optional number from 0 to 1, such as a service's
// protectThreshold. It returns def when v is empty.
func Float01(field, v string, def float64) (float64, error) {
	return floatIn(field, v, def, 0, 1)
}

// floatIn parses v as a finite float in [lo, hi], or returns def if v is
// empty.
func floatIn(field, v string, def, lo, hi float64) (float64, error) {
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, invalid(field, "must be between "+fmtFloat(lo)+" and "+fmtFloat(hi))
	}
	if err := checkFloat(field, f, lo, hi); err != nil {
		return 0, err
	}
	if f == 0 {
		f = 0 // no negative zero
	}
	return f, nil
}

// checkFloat refuses f unless it is a number (not NaN) in [lo, hi]; with
// finite bounds that excludes the infinities too.
func checkFloat(field string, f, lo, hi float64) error {
	if math.IsNaN(f) || f < lo || f > hi {
		return invalid(field, "must be between "+fmtFloat(lo)+" and "+fmtFloat(hi))
	}
	return nil
}

func fmtFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Bool validates an optional boolean: "true" or "false" in any case. It
// returns def when v is empty.
func Bool(field, v string, def bool) (bool, error) {
	switch {
	case v == "":
		return def, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, invalid(field, `must be "true" or "false"`)
}

// Int validates an optional decimal integer in [min, max], such as pageNo or
// pageSize. It returns def when v is empty.
func Int(field, v string, def, min, max int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, invalid(field, "must be an integer between "+strconv.Itoa(min)+" and "+strconv.Itoa(max))
	}
	return n, nil
}

// Duration validates an optional duration given as a Go duration string
// ("30s", "1m30s") or as a plain integer of milliseconds. Negative durations
// are rejected. A duration above max is lowered to max when max > 0. It
// returns def when v is empty.
func Duration(field, v string, def, max time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	var d time.Duration
	if isDigits(v) {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms > math.MaxInt64/int64(time.Millisecond) {
			d = math.MaxInt64 // too large to represent: capped below
		} else {
			d = time.Duration(ms) * time.Millisecond
		}
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, invalid(field, `must be a duration such as "30s" or an integer of milliseconds`)
		}
		if d < 0 {
			return 0, invalid(field, "must not be negative")
		}
	}
	if max > 0 && d > max {
		d = max
	}
	return d, nil
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
