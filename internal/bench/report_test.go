package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	r := &Report{Mode: "read", Params: map[string]string{"nodes": "3", "concurrency": "64"}}
	r.AddRate("read rate", 30000, UnitReqPerSec, 60000)
	r.AddRate("no floor", 100, UnitOpsPerSec, 0)
	r.AddMs("latency p99", 1500*time.Microsecond)
	r.Add("errors", 0, UnitCount)
	r.Notef("%d failed", 2)
	return r
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"== read (concurrency=64 nodes=3;",
		"FIGURE", "× FLOOR",
		"read rate    30000  req/s  0.50",
		"no floor     100    ops/s  -",
		"latency p99  1.500  ms",
		"note: 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("got table\n%s\nwant it to contain %q", out, want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Reports []struct {
			Mode    string            `json:"mode"`
			Params  map[string]string `json:"params"`
			Figures []struct {
				Name  string   `json:"name"`
				Value float64  `json:"value"`
				Unit  string   `json:"unit"`
				Ratio *float64 `json:"floorRatio"`
				Floor *float64 `json:"floor"`
			} `json:"figures"`
			Notes []string `json:"notes"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", buf.String(), err)
	}
	if len(got.Reports) != 1 || got.Reports[0].Mode != "read" || got.Reports[0].Params["nodes"] != "3" {
		t.Fatalf("got %+v, want one read report with nodes=3", got.Reports)
	}
	f := got.Reports[0].Figures
	if len(f) != 4 {
		t.Fatalf("got %d figures, want 4", len(f))
	}
	if f[0].Name != "read rate" || f[0].Value != 30000 || f[0].Unit != "req/s" || f[0].Ratio == nil || *f[0].Ratio != 0.5 || *f[0].Floor != 60000 {
		t.Errorf("got %+v, want read rate 30000 req/s ratio 0.5 of 60000", f[0])
	}
	if f[1].Ratio != nil {
		t.Errorf("got ratio %v for a figure without floor, want none", *f[1].Ratio)
	}
	if f[2].Value != 1.5 || f[2].Unit != "ms" {
		t.Errorf("got %+v, want 1.5 ms", f[2])
	}
	if len(got.Reports[0].Notes) != 1 {
		t.Errorf("got notes %v, want one", got.Reports[0].Notes)
	}
}

func TestWriteJSON_rejectsNaN(t *testing.T) {
	r := &Report{Mode: "x"}
	r.Add("bad", math.NaN(), UnitCount)
	if err := WriteJSON(&bytes.Buffer{}, r); err == nil {
		t.Error("got nil error for a NaN figure, want one")
	}
}
