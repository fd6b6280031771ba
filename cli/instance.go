package cli

// roster instance enable|disable|weight|metadata: change one registered
// instance in place with PATCH /v1/instance, the way an operator takes an
// instance out of traffic (disable, or weight 0) without touching its
// host. The instance keeps its registration and its heartbeats.

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/api"
)

func instanceCommand() *cli.Command {
	common := func() []cli.Flag { return flags(serviceFlags(), addressFlags(), clientFlags()) }
	return &cli.Command{
		Name:  "instance",
		Usage: "change a registered instance: enable, disable, weight, metadata",
		Description: "Changes one instance in place (PATCH /v1/instance) and prints it. The instance keeps\n" +
			"its registration and heartbeats; clients see the change at once.",
		Subcommands: []*cli.Command{
			{
				Name: "enable", Usage: "offer the instance to clients again",
				Flags: common(), Action: func(c *cli.Context) error { return runPatch(c, "enable", enabledPatch(true)) },
			},
			{
				Name: "disable", Usage: "stop offering the instance to clients (it stays registered)",
				Flags: common(), Action: func(c *cli.Context) error { return runPatch(c, "disable", enabledPatch(false)) },
			},
			{
				Name: "weight", Usage: "set the instance's load balancing weight",
				Flags: flags(common(), []cli.Flag{
					&cli.Float64Flag{Name: "weight", Aliases: []string{"w"}, Usage: "new weight, 0 to 10000 (required; 0 sends no traffic)"},
				}),
				Action: func(c *cli.Context) error { return runPatch(c, "weight", weightPatch) },
			},
			{
				Name: "metadata", Usage: "set or remove metadata keys of the instance",
				Description: "--set key=value adds or changes a key, --unset key removes one; the other keys are kept\n" +
					"unless --replace is given, which makes the --set pairs the whole metadata. The command\n" +
					"reads the instance, then writes the new map: a change made by someone else in between is lost.",
				Flags: flags(common(), []cli.Flag{
					&cli.StringSliceFlag{Name: "set", Usage: "metadata `key=value` to set, repeatable"},
					&cli.StringSliceFlag{Name: "unset", Usage: "metadata `key` to remove, repeatable"},
					&cli.BoolFlag{Name: "replace", Usage: "replace all metadata with the --set pairs"},
				}),
				Action: func(c *cli.Context) error { return runPatch(c, "metadata", metadataPatch) },
			},
		},
	}
}

// patchBody is the body of PATCH /v1/instance. Its metadata is sent even
// when empty (api.Instance omits an empty map): an empty map clears the
// metadata, an absent one leaves it.
type patchBody struct {
	api.Instance
	Metadata *map[string]string `json:"metadata,omitempty"`
}

// patchFunc fills in the changes of a PATCH body from the flags; it may
// read the instance through get.
type patchFunc func(c *cli.Context, body *patchBody, get func() (instance, error)) error

func enabledPatch(on bool) patchFunc {
	return func(_ *cli.Context, body *patchBody, _ func() (instance, error)) error {
		body.Enabled = &on
		return nil
	}
}

func weightPatch(c *cli.Context, body *patchBody, _ func() (instance, error)) error {
	if !c.IsSet("weight") {
		return badUsage(c, fmt.Errorf("missing --weight"))
	}
	w := c.Float64("weight")
	if w < 0 || w > 10000 {
		return badUsage(c, fmt.Errorf("--weight %v is not between 0 and 10000", w))
	}
	body.Weight = &w
	return nil
}

func metadataPatch(c *cli.Context, body *patchBody, get func() (instance, error)) error {
	set := map[string]string{}
	for _, p := range c.StringSlice("set") {
		k, v, ok := strings.Cut(p, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return badUsage(c, fmt.Errorf("--set %q is not key=value", p))
		}
		set[k] = v
	}
	unset := c.StringSlice("unset")
	if len(set) == 0 && len(unset) == 0 && !c.Bool("replace") {
		return badUsage(c, fmt.Errorf("nothing to change: give --set key=value, --unset key or --replace"))
	}
	md := map[string]string{}
	if !c.Bool("replace") {
		cur, err := get()
		if err != nil {
			return err
		}
		maps.Copy(md, cur.Metadata)
	}
	maps.Copy(md, set)
	for _, k := range unset {
		delete(md, k)
	}
	body.Metadata = &md
	return nil
}

// runPatch sends PATCH /v1/instance with the changes fn makes and prints
// the instance as changed.
func runPatch(c *cli.Context, what string, fn patchFunc) error {
	if err := noArgs(c); err != nil {
		return err
	}
	service, err := requireString(c, "service")
	if err != nil {
		return err
	}
	ip, port, err := instanceAddress(c)
	if err != nil {
		return err
	}
	body := patchBody{Instance: api.Instance{Namespace: c.String("namespace"), Group: c.String("group"), Service: service,
		Cluster: c.String("cluster"), IP: ip, Port: port}}
	client, err := newAPIClient(c)
	if err != nil {
		return err
	}
	get := func() (instance, error) {
		q := serviceQuery(c, service)
		q.Set("ip", ip)
		q.Set("port", strconv.Itoa(port))
		b, err := client.do(c.Context, http.MethodGet, "/v1/instance", q, nil)
		var in instance
		if err == nil {
			err = decode(b, &in)
		}
		if err != nil {
			return in, fmt.Errorf("instance %s: read the instance: %w", what, err)
		}
		return in, nil
	}
	if err := fn(c, &body, get); err != nil {
		return err
	}
	b, err := client.do(c.Context, http.MethodPatch, "/v1/instance", nil, body)
	if err != nil {
		return fmt.Errorf("instance %s: %w", what, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, b)
	}
	var resp registerResponse
	if err := decode(b, &resp); err != nil {
		return fmt.Errorf("instance %s: %w", what, err)
	}
	return writeInstances(c.App.Writer, []instance{resp.Instance})
}
