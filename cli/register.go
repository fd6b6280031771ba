package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/api"
)

// registerRequest is the body of POST /v1/instance. Optional fields the user
// did not set are left out so the server applies its defaults.
type registerRequest = api.Instance

// registerResponse is the answer to POST /v1/instance.
type registerResponse struct {
	Instance instance `json:"instance"`
	Index    uint64   `json:"index"`
}

func registerCommand() *cli.Command {
	return &cli.Command{
		Name:  "register",
		Usage: "register (or update) a service instance",
		Description: "Registers an instance with the node at --addr (POST /v1/instance) and prints it.\n" +
			"An ephemeral instance must then be kept alive with heartbeats, or it expires.",
		Flags: flags(serviceFlags(), addressFlags(), []cli.Flag{
			&cli.Float64Flag{Name: "weight", Usage: "load balancing weight, 0 to 10000 (server default: 1)"},
			&cli.StringSliceFlag{Name: "metadata", Aliases: []string{"m"}, Usage: "metadata `key=value`, repeatable"},
			&cli.BoolFlag{Name: "ephemeral", Value: true, Usage: "expire the instance when its heartbeats stop (--ephemeral=false: persistent)"},
			&cli.BoolFlag{Name: "enabled", Value: true, Usage: "offer the instance to clients (--enabled=false: registered but not served)"},
		}, clientFlags()),
		Action: runRegister,
	}
}

// addressFlags are the --ip and --port flags identifying an instance.
func addressFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ip", Usage: "instance IP address (required)"},
		&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Usage: "instance port, 1 to 65535 (required)"},
	}
}

// instanceAddress reads and checks --ip and --port.
func instanceAddress(c *cli.Context) (string, int, error) {
	ip, err := requireString(c, "ip")
	if err != nil {
		return "", 0, err
	}
	if !c.IsSet("port") {
		return "", 0, badUsage(c, errors.New("missing --port"))
	}
	port := c.Int("port")
	if port < 1 || port > 65535 {
		return "", 0, badUsage(c, fmt.Errorf("--port %d is not between 1 and 65535", port))
	}
	return ip, port, nil
}

func runRegister(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	req, err := registerRequestFrom(c)
	if err != nil {
		return err
	}
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	body, err := api.do(c.Context, http.MethodPost, "/v1/instance", nil, req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, body)
	}
	var resp registerResponse
	if err := decode(body, &resp); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	return writeInstances(c.App.Writer, []instance{resp.Instance})
}

// registerRequestFrom builds the request body from the flags.
func registerRequestFrom(c *cli.Context) (registerRequest, error) {
	service, err := requireString(c, "service")
	if err != nil {
		return registerRequest{}, err
	}
	ip, port, err := instanceAddress(c)
	if err != nil {
		return registerRequest{}, err
	}
	md, err := parseMetadata(c.StringSlice("metadata"))
	if err != nil {
		return registerRequest{}, badUsage(c, err)
	}
	req := registerRequest{
		Namespace: c.String("namespace"),
		Group:     c.String("group"),
		Service:   service,
		Cluster:   c.String("cluster"),
		IP:        ip,
		Port:      port,
		Metadata:  md,
	}
	if c.IsSet("weight") {
		w := c.Float64("weight")
		if w < 0 || w > 10000 {
			return registerRequest{}, badUsage(c, fmt.Errorf("--weight %v is not between 0 and 10000", w))
		}
		req.Weight = &w
	}
	if c.IsSet("enabled") {
		v := c.Bool("enabled")
		req.Enabled = &v
	}
	if c.IsSet("ephemeral") {
		v := c.Bool("ephemeral")
		req.Ephemeral = &v
	}
	return req, nil
}

// parseMetadata turns key=value pairs into a map; a later key wins.
func parseMetadata(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	md := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--metadata %q is not key=value", p)
		}
		md[k] = v
	}
	return md, nil
}
