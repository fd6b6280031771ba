package param

import (
	"math"
	"testing"
)

func TestCheckDecoded(t *testing.T) {
	const badWeight = "invalid w: must be between 0 and 10000"
	const badPort = "invalid p: must be an integer between 1 and 65535"
	tests := []struct {
		name    string
		err     error
		wantErr string
	}{
		{"weight", CheckWeight("w", 1.5), ""},
		{"weight zero", CheckWeight("w", 0), ""},
		{"weight max", CheckWeight("w", MaxWeight), ""},
		{"weight negative", CheckWeight("w", -1), badWeight},
		{"weight too big", CheckWeight("w", MaxWeight+1), badWeight},
		{"weight NaN", CheckWeight("w", math.NaN()), badWeight},
		{"weight +Inf", CheckWeight("w", math.Inf(1)), badWeight},
		{"threshold", CheckFloat01("t", 0.5), ""},
		{"threshold over 1", CheckFloat01("t", 1.01), "invalid t: must be between 0 and 1"},
		{"threshold NaN", CheckFloat01("t", math.NaN()), "invalid t: must be between 0 and 1"},
		{"port", CheckPort("p", 65535), ""},
		{"port zero", CheckPort("p", 0), badPort},
		{"port negative", CheckPort("p", -80), badPort},
		{"port too big", CheckPort("p", 65536), badPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.err, tt.wantErr) })
	}
}
