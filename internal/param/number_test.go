package param

import (
	"math"
	"testing"
	"time"
)

func TestPort(t *testing.T) {
	const bad = "invalid port: must be an integer between 1 and 65535"
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{name: "low", in: "1", want: 1},
		{name: "typical", in: "8080", want: 8080},
		{name: "high", in: "65535", want: 65535},
		{name: "leading zero", in: "080", want: 80},
		{name: "empty", in: "", wantErr: "missing port"},
		{name: "zero", in: "0", wantErr: bad},
		{name: "too high", in: "65536", wantErr: bad},
		{name: "huge", in: "99999999999999999999", wantErr: bad},
		{name: "negative", in: "-1", wantErr: bad},
		{name: "plus", in: "+80", wantErr: bad},
		{name: "space", in: " 80", wantErr: bad},
		{name: "float", in: "80.0", wantErr: bad},
		{name: "word", in: "http", wantErr: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Port("port", tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWeight(t *testing.T) {
	const bad = "invalid weight: must be between 0 and 10000"
	tests := []struct {
		name    string
		in      string
		want    float64
		wantErr string
	}{
		{name: "empty gives default", in: "", want: 1},
		{name: "integer", in: "5", want: 5},
		{name: "fraction", in: "0.5", want: 0.5},
		{name: "zero", in: "0", want: 0},
		{name: "negative zero", in: "-0", want: 0},
		{name: "max", in: "10000", want: 10000},
		{name: "exponent", in: "1e2", want: 100},
		{name: "too big", in: "10000.01", wantErr: bad},
		{name: "negative", in: "-1", wantErr: bad},
		{name: "NaN", in: "NaN", wantErr: bad},
		{name: "Inf", in: "+Inf", wantErr: bad},
		{name: "word", in: "heavy", wantErr: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Weight("weight", tt.in, 1)
			checkErr(t, err, tt.wantErr)
			if got != tt.want || math.Signbit(got) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFloat01(t *testing.T) {
	const bad = "invalid protectThreshold: must be between 0 and 1"
	tests := []struct {
		name    string
		in      string
		want    float64
		wantErr string
	}{
		{name: "empty gives default", in: "", want: 0.25},
		{name: "zero", in: "0", want: 0},
		{name: "half", in: "0.5", want: 0.5},
		{name: "one", in: "1", want: 1},
		{name: "above", in: "1.0001", wantErr: bad},
		{name: "below", in: "-0.1", wantErr: bad},
		{name: "NaN", in: "nan", wantErr: bad},
		{name: "word", in: "half", wantErr: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Float01("protectThreshold", tt.in, 0.25)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBool(t *testing.T) {
	const bad = `invalid healthyOnly: must be "true" or "false"`
	tests := []struct {
		name    string
		in      string
		def     bool
		want    bool
		wantErr string
	}{
		{name: "empty gives default true", in: "", def: true, want: true},
		{name: "empty gives default false", in: "", def: false, want: false},
		{name: "true", in: "true", want: true},
		{name: "TRUE", in: "TRUE", want: true},
		{name: "False", in: "False", def: true, want: false},
		{name: "one", in: "1", wantErr: bad},
		{name: "zero", in: "0", wantErr: bad},
		{name: "yes", in: "yes", wantErr: bad},
		{name: "padded", in: " true", wantErr: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bool("healthyOnly", tt.in, tt.def)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInt(t *testing.T) {
	const bad = "invalid pageSize: must be an integer between 1 and 500"
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{name: "empty gives default", in: "", want: 20},
		{name: "min", in: "1", want: 1},
		{name: "max", in: "500", want: 500},
		{name: "below", in: "0", wantErr: bad},
		{name: "above", in: "501", wantErr: bad},
		{name: "overflow", in: "99999999999999999999999", wantErr: bad},
		{name: "float", in: "1.5", wantErr: bad},
		{name: "word", in: "ten", wantErr: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Int("pageSize", tt.in, 20, 1, 500)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	const bad = `invalid wait: must be a duration such as "30s" or an integer of milliseconds`
	tests := []struct {
		name    string
		in      string
		max     time.Duration
		want    time.Duration
		wantErr string
	}{
		{name: "empty gives default", in: "", max: 5 * time.Minute, want: 30 * time.Second},
		{name: "go duration", in: "10s", max: 5 * time.Minute, want: 10 * time.Second},
		{name: "compound", in: "1m30s", max: 5 * time.Minute, want: 90 * time.Second},
		{name: "milliseconds", in: "1500", max: 5 * time.Minute, want: 1500 * time.Millisecond},
		{name: "zero", in: "0", max: 5 * time.Minute, want: 0},
		{name: "capped", in: "1h", max: 5 * time.Minute, want: 5 * time.Minute},
		{name: "capped millis", in: "600000", max: 5 * time.Minute, want: 5 * time.Minute},
		{name: "huge millis capped", in: "99999999999999999999", max: 5 * time.Minute, want: 5 * time.Minute},
		{name: "no cap", in: "1h", max: 0, want: time.Hour},
		{name: "negative", in: "-1s", max: 5 * time.Minute, wantErr: "invalid wait: must not be negative"},
		{name: "negative millis", in: "-100", max: 5 * time.Minute, wantErr: bad},
		{name: "word", in: "soon", max: 5 * time.Minute, wantErr: bad},
		{name: "float millis", in: "1.5", max: 5 * time.Minute, wantErr: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Duration("wait", tt.in, 30*time.Second, tt.max)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
