package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/urfave/cli/v2"
)

// servicesResponse is the answer to GET /v1/services.
type servicesResponse struct {
	Namespace string           `json:"namespace"`
	Index     uint64           `json:"index"`
	Services  []serviceSummary `json:"services"`
}

func servicesCommand() *cli.Command {
	return &cli.Command{
		Name:        "services",
		Usage:       "list the services of a namespace",
		Description: "Lists services with their instance counts (GET /v1/services); without --group, every group.",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "namespace (server default: public)"},
			&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "only this group (default: all groups)"},
		}, clientFlags()),
		Action: runServices,
	}
}

func runServices(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	q := url.Values{}
	setIfNotEmpty(q, "namespace", c.String("namespace"))
	setIfNotEmpty(q, "group", c.String("group"))
	body, err := api.do(c.Context, http.MethodGet, "/v1/services", q, nil)
	if err != nil {
		return fmt.Errorf("services: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, body)
	}
	var resp servicesResponse
	if err := decode(body, &resp); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	return writeServices(c.App.Writer, resp.Services)
}
