package param

import (
	"strings"
	"testing"
)

func TestClampedInt(t *testing.T) {
	const lo, hi = 0, 1 << 20
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 10}, {"  ", 10}, {"0", 0}, {"7", 7}, {"+7", 7}, {"007", 7}, {" 12 ", 12},
		{"2147483647", hi}, {"99999999999999999999999999999", hi}, {"-1", lo},
		{"-99999999999999999999999999", lo}, {"1048576", hi}, {"1048577", hi},
	} {
		got, err := ClampedInt("pageSize", tc.in, 10, lo, hi)
		if err != nil || got != tc.want {
			t.Errorf("ClampedInt(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x", "1.5", "1e3", "-", "+", "0x10", "1 2", "١٢"} {
		if _, err := ClampedInt("pageSize", bad, 10, lo, hi); err == nil || !strings.Contains(err.Error(), "pageSize") {
			t.Errorf("ClampedInt(%q): err %v, want one naming pageSize", bad, err)
		}
	}
	if got, _ := ClampedInt("pageNo", "-5", 1, 1, 100); got != 1 {
		t.Errorf("negative clamps to min 1: got %d", got)
	}
}
