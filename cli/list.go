package cli

import (
	"fmt"
	"net/http"

	"github.com/urfave/cli/v2"
)

// listResponse is the answer to GET /v1/instances.
type listResponse struct {
	Namespace string     `json:"namespace"`
	Group     string     `json:"group"`
	Service   string     `json:"service"`
	Index     uint64     `json:"index"`
	Instances []instance `json:"instances"`
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:        "list",
		Usage:       "list the instances of a service",
		Description: "Lists a service's instances (GET /v1/instances), optionally only one cluster or only healthy ones.",
		Flags: flags(serviceFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "healthy-only", Usage: "list only healthy instances"},
		}, clientFlags()),
		Action: runList,
	}
}

func runList(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	service, err := requireString(c, "service")
	if err != nil {
		return err
	}
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	q := serviceQuery(c, service)
	if c.Bool("healthy-only") {
		q.Set("healthyOnly", "true")
	}
	body, err := api.do(c.Context, http.MethodGet, "/v1/instances", q, nil)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, body)
	}
	var resp listResponse
	if err := decode(body, &resp); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	return writeInstances(c.App.Writer, resp.Instances)
}
