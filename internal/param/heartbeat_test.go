package param

import (
	"testing"
	"time"
)

func TestHeartbeatMillis(t *testing.T) {
	const badInterval = `invalid metadata: key "preserved.heart.beat.interval": must be an integer of milliseconds between 1 and 86400000`
	tests := []struct {
		name                          string
		md                            map[string]string
		interval, timeout, deleteWait time.Duration
		wantErr                       string
	}{
		{name: "nil", interval: 5 * time.Second, timeout: 15 * time.Second, deleteWait: 30 * time.Second},
		{
			name:     "empty values default",
			md:       map[string]string{KeyBeatInterval: "", "other": "x"},
			interval: 5 * time.Second, timeout: 15 * time.Second, deleteWait: 30 * time.Second,
		},
		{
			name:     "overrides",
			md:       map[string]string{KeyBeatInterval: "1000", KeyBeatTimeout: "3000", KeyDeleteTimeout: "86400000"},
			interval: time.Second, timeout: 3 * time.Second, deleteWait: 24 * time.Hour,
		},
		{name: "zero", md: map[string]string{KeyBeatInterval: "0"}, wantErr: badInterval},
		{name: "negative", md: map[string]string{KeyBeatInterval: "-5"}, wantErr: badInterval},
		{name: "plus", md: map[string]string{KeyBeatInterval: "+5"}, wantErr: badInterval},
		{name: "over a day", md: map[string]string{KeyBeatInterval: "86400001"}, wantErr: badInterval},
		{name: "overflow", md: map[string]string{KeyBeatInterval: "99999999999999999999"}, wantErr: badInterval},
		{name: "duration string", md: map[string]string{KeyBeatInterval: "5s"}, wantErr: badInterval},
		{
			name:    "bad timeout",
			md:      map[string]string{KeyBeatTimeout: "x"},
			wantErr: `invalid metadata: key "preserved.heart.beat.timeout": must be an integer of milliseconds between 1 and 86400000`,
		},
		{
			name:    "bad delete timeout",
			md:      map[string]string{KeyDeleteTimeout: "1.5"},
			wantErr: `invalid metadata: key "preserved.ip.delete.timeout": must be an integer of milliseconds between 1 and 86400000`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interval, timeout, deleteWait, err := HeartbeatMillis(tt.md)
			checkErr(t, err, tt.wantErr)
			if interval != tt.interval || timeout != tt.timeout || deleteWait != tt.deleteWait {
				t.Errorf("got %v, %v, %v, want %v, %v, %v",
					interval, timeout, deleteWait, tt.interval, tt.timeout, tt.deleteWait)
			}
		})
	}
}
