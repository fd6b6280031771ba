package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/urfave/cli/v2"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "print a service's instances and every change as it happens",
		Description: "Prints the instance list, then one line per changed instance as it happens:\n" +
			"'+' added, '-' removed, '~' changed (with what changed). With --json it prints one JSON\n" +
			"object per line instead: the time and the whole new list. Changes arrive through blocking\n" +
			"queries (no polling delay); the watch fails over between --addr nodes. Stop it with Ctrl-C.",
		Flags: flags(serviceFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "healthy-only", Usage: "watch only healthy, enabled instances"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON lines: {\"time\",\"service\",\"instances\"}"},
		}, nodeFlags()),
		Action: runWatch,
	}
}

func runWatch(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	service, err := requireString(c, "service")
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn})).With("from", "roster watch")
	cl, err := newClient(c, log)
	if err != nil {
		return err
	}
	defer cl.Close(c.Context)
	q := client.Query{Service: client.Service{Namespace: c.String("namespace"), Group: c.String("group"), Name: service},
		Cluster: c.String("cluster"), HealthyOnly: c.Bool("healthy-only")}
	p := &watchPrinter{w: c.App.Writer, json: c.Bool("json"), service: service, now: time.Now}
	err = cl.Watch(c.Context, q, func(l []client.Instance) {
		if werr := p.print(l); werr != nil {
			err = werr
		}
	})
	if errors.Is(err, c.Context.Err()) {
		return nil // stopped
	}
	return fmt.Errorf("watch: %w", err)
}

// watchPrinter prints a watched list and its changes.
type watchPrinter struct {
	w       io.Writer
	json    bool
	service string
	now     func() time.Time
	prev    map[string]client.Instance // by cluster/ip:port; nil before the first list
}

// print writes one delivered list.
func (p *watchPrinter) print(l []client.Instance) error {
	if p.json {
		if l == nil {
			l = []client.Instance{}
		}
		b, err := json.Marshal(struct {
			Time      time.Time         `json:"time"`
			Service   string            `json:"service"`
			Instances []client.Instance `json:"instances"`
		}{p.now().UTC(), p.service, l})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	cur := make(map[string]client.Instance, len(l))
	for _, in := range l {
		cur[instanceName(in)] = in
	}
	defer func() { p.prev = cur }()
	if p.prev == nil {
		return writeInstances(p.w, toCLIInstances(l))
	}
	ts := p.now().Format("15:04:05.000")
	for _, in := range l {
		old, ok := p.prev[instanceName(in)]
		switch {
		case !ok:
			fmt.Fprintf(p.w, "%s + %s %s\n", ts, instanceName(in), describe(in))
		default:
			if d := diff(old, in); d != "" {
				fmt.Fprintf(p.w, "%s ~ %s %s\n", ts, instanceName(in), d)
			}
		}
	}
	for name := range p.prev {
		if _, ok := cur[name]; !ok {
			fmt.Fprintf(p.w, "%s - %s\n", ts, name)
		}
	}
	return nil
}

// instanceName is "ip:port" plus "@cluster" outside the default cluster.
func instanceName(in client.Instance) string {
	s := fmt.Sprintf("%s:%d", in.IP, in.Port)
	if in.Cluster != "" && in.Cluster != "DEFAULT" {
		s += "@" + in.Cluster
	}
	return s
}

// describe lists an instance's fields.
func describe(in client.Instance) string {
	return fmt.Sprintf("healthy=%t enabled=%t weight=%s metadata=%s", in.Healthy, in.Enabled,
		formatWeight(in.Weight), formatMetadata(in.Metadata))
}

// diff lists the fields that changed from a to b.
func diff(a, b client.Instance) string {
	var d []string
	if a.Healthy != b.Healthy {
		d = append(d, fmt.Sprintf("healthy=%t", b.Healthy))
	}
	if a.Enabled != b.Enabled {
		d = append(d, fmt.Sprintf("enabled=%t", b.Enabled))
	}
	if a.Weight != b.Weight {
		d = append(d, "weight="+formatWeight(b.Weight))
	}
	if ma, mb := formatMetadata(a.Metadata), formatMetadata(b.Metadata); ma != mb {
		d = append(d, "metadata="+mb)
	}
	return strings.Join(d, " ")
}

// toCLIInstances converts for the shared table printer.
func toCLIInstances(l []client.Instance) []instance {
	out := make([]instance, len(l))
	for i, in := range l {
		out[i] = instance{Namespace: in.Namespace, Group: in.Group, Service: in.Service, Cluster: in.Cluster,
			IP: in.IP, Port: in.Port, InstanceID: in.InstanceID, Weight: in.Weight, Healthy: in.Healthy,
			Enabled: in.Enabled, Ephemeral: in.Ephemeral, Metadata: in.Metadata}
	}
	return out
}
