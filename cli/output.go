package cli

// Output: tables for people (text/tabwriter), the server's own JSON for
// scripts (--json).

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// instance is the native API's instance object.
type instance struct {
	Namespace       string            `json:"namespace"`
	Group           string            `json:"group"`
	Service         string            `json:"service"`
	Cluster         string            `json:"cluster"`
	IP              string            `json:"ip"`
	Port            int               `json:"port"`
	InstanceID      string            `json:"instanceId"`
	Weight          float64           `json:"weight"`
	Healthy         bool              `json:"healthy"`
	Enabled         bool              `json:"enabled"`
	Ephemeral       bool              `json:"ephemeral"`
	Metadata        map[string]string `json:"metadata"`
	BeatIntervalMs  int64             `json:"beatIntervalMs"`
	BeatTimeoutMs   int64             `json:"beatTimeoutMs"`
	DeleteTimeoutMs int64             `json:"deleteTimeoutMs"`
}

// serviceSummary is one entry of GET /v1/services.
type serviceSummary struct {
	Group     string `json:"group"`
	Service   string `json:"service"`
	Instances int    `json:"instances"`
	Healthy   int    `json:"healthy"`
}

// printJSON writes a JSON response body indented, ending with a newline.
func printJSON(w io.Writer, body []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		return fmt.Errorf("server sent invalid JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// newTable returns a tabwriter for a table; call Flush when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// writeInstances prints instances as a table sorted by cluster, ip, port.
func writeInstances(w io.Writer, insts []instance) error {
	sorted := slices.Clone(insts)
	slices.SortFunc(sorted, func(a, b instance) int {
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.IP, b.IP), cmp.Compare(a.Port, b.Port))
	})
	tw := newTable(w)
	fmt.Fprintln(tw, "IP\tPORT\tCLUSTER\tWEIGHT\tHEALTHY\tENABLED\tEPHEMERAL\tMETADATA")
	for _, in := range sorted {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%t\t%t\t%t\t%s\n",
			in.IP, in.Port, in.Cluster, formatWeight(in.Weight),
			in.Healthy, in.Enabled, in.Ephemeral, formatMetadata(in.Metadata))
	}
	return tw.Flush()
}

// writeServices prints service summaries as a table sorted by group, service.
func writeServices(w io.Writer, svcs []serviceSummary) error {
	sorted := slices.Clone(svcs)
	slices.SortFunc(sorted, func(a, b serviceSummary) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Service, b.Service))
	})
	tw := newTable(w)
	fmt.Fprintln(tw, "GROUP\tSERVICE\tINSTANCES\tHEALTHY")
	for _, s := range sorted {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", s.Group, s.Service, s.Instances, s.Healthy)
	}
	return tw.Flush()
}

// formatWeight prints a weight without trailing zeros: 1, 0.5, 100.
func formatWeight(w float64) string {
	return strconv.FormatFloat(w, 'f', -1, 64)
}

// formatMetadata prints metadata as k=v pairs sorted by key, comma
// separated, or "-" when there is none.
func formatMetadata(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	keys := slices.Sorted(maps.Keys(md))
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + md[k]
	}
	return strings.Join(pairs, ",")
}
