package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Units of figures.
const (
	UnitOpsPerSec = "ops/s"
	UnitReqPerSec = "req/s"
	UnitMs        = "ms"
	UnitCount     = "count"
	UnitSeconds   = "s"
	UnitBytes     = "bytes"
	UnitMiB       = "MiB"
)

// Figure is one measured value with its unit. Ratio, when set, is the
// value divided by the floor measured in the same run (throughputs only).
type Figure struct {
	Name  string   `json:"name"`
	Value float64  `json:"value"`
	Unit  string   `json:"unit"`
	Ratio *float64 `json:"floorRatio,omitempty"`
	// Floor is the floor throughput the ratio was taken against.
	Floor *float64 `json:"floor,omitempty"`
}

// Report is the result of one bench mode.
type Report struct {
	Mode    string            `json:"mode"`
	Started time.Time         `json:"started"`
	Elapsed float64           `json:"elapsedSeconds"`
	Params  map[string]string `json:"params"`
	Figures []Figure          `json:"figures"`
	// Notes are warnings worth a reader's attention (errors seen, caps
	// reached); a run with notes still reports what it measured.
	Notes []string `json:"notes,omitempty"`
}

// Add appends a figure.
func (r *Report) Add(name string, value float64, unit string) {
	r.Figures = append(r.Figures, Figure{Name: name, Value: value, Unit: unit})
}

// AddMs appends a duration figure in milliseconds.
func (r *Report) AddMs(name string, d time.Duration) {
	r.Add(name, float64(d)/float64(time.Millisecond), UnitMs)
}

// AddRate appends a throughput figure and, if floor > 0, its ratio to it.
func (r *Report) AddRate(name string, value float64, unit string, floor float64) {
	f := Figure{Name: name, Value: value, Unit: unit}
	if floor > 0 {
		ratio := value / floor
		fl := floor
		f.Ratio, f.Floor = &ratio, &fl
	}
	r.Figures = append(r.Figures, f)
}

// Notef appends a note.
func (r *Report) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Figure returns the figure named name.
func (r *Report) Figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// WriteTable prints the reports as tables for people.
func WriteTable(w io.Writer, reports ...*Report) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		keys := slices.Sorted(maps.Keys(r.Params))
		params := make([]string, len(keys))
		for j, k := range keys {
			params[j] = k + "=" + r.Params[k]
		}
		fmt.Fprintf(w, "== %s (%s; %.1f s)\n", r.Mode, strings.Join(params, " "), r.Elapsed)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FIGURE\tVALUE\tUNIT\t× FLOOR")
		for _, f := range r.Figures {
			ratio := "-"
			if f.Ratio != nil {
				ratio = strconv.FormatFloat(*f.Ratio, 'f', 2, 64)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, formatValue(f.Value, f.Unit), f.Unit, ratio)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	return nil
}

// formatValue prints a value with precision fit for its unit.
func formatValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case unit == UnitMs:
		if v < 10 {
			return strconv.FormatFloat(v, 'f', 3, 64)
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	case unit == UnitSeconds:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case v == math.Trunc(v) || v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// jsonOutput is the document --json writes.
type jsonOutput struct {
	Reports []*Report `json:"reports"`
}

// WriteJSON writes the reports as one indented JSON document.
func WriteJSON(w io.Writer, reports ...*Report) error {
	for _, r := range reports {
		for _, f := range r.Figures {
			if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
				return fmt.Errorf("bench: figure %q of %s is not a number", f.Name, r.Mode)
			}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonOutput{Reports: reports})
}

// WriteJSONFile writes the reports to the file at path.
func WriteJSONFile(path string, reports ...*Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := WriteJSON(f, reports...); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
