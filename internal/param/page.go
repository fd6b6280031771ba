package param

import (
	"strings"
)

// ClampedInt validates an optional decimal integer of any size, such as a
// page size, and clamps it into [lo, hi]: a client asking for "every
// item" with a huge number (Spring Cloud Alibaba sends
// pageSize=2147483647) gets hi, not an error. It returns def when v is
// empty or white space; anything but an optional sign and digits is a 400
// naming field.
func ClampedInt(field, v string, def, lo, hi int) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, nil
	}
	neg := false
	digits := v
	if digits[0] == '-' || digits[0] == '+' {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	if !isDigits(digits) {
		return 0, invalid(field, "must be an integer")
	}
	digits = strings.TrimLeft(digits, "0")
	n := 0
	for i := 0; i < len(digits); i++ {
		n = n*10 + int(digits[i]-'0')
		if n > hi && !neg {
			return hi, nil
		}
		if n > -lo && neg {
			return lo, nil
		}
	}
	if neg {
		n = -n
	}
	return min(hi, max(lo, n)), nil
}
