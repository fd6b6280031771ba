package cli

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/urfave/cli/v2"
)

// deregisterResponse is the answer to DELETE /v1/instance.
type deregisterResponse struct {
	Index uint64 `json:"index"`
	Found *bool  `json:"found"`
}

func deregisterCommand() *cli.Command {
	return &cli.Command{
		Name:        "deregister",
		Usage:       "remove a service instance",
		Description: "Removes an instance from the registry (DELETE /v1/instance).",
		Flags:       flags(serviceFlags(), addressFlags(), clientFlags()),
		Action:      runDeregister,
	}
}

func runDeregister(c *cli.Context) error {
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
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	q := serviceQuery(c, service)
	q.Set("ip", ip)
	q.Set("port", strconv.Itoa(port))
	body, err := api.do(c.Context, http.MethodDelete, "/v1/instance", q, nil)
	if err != nil {
		return fmt.Errorf("deregister: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, body)
	}
	var resp deregisterResponse
	if err := decode(body, &resp); err != nil {
		return fmt.Errorf("deregister: %w", err)
	}
	if resp.Found != nil && !*resp.Found {
		_, err = fmt.Fprintf(c.App.Writer, "%s:%d was not registered in service %s; the deletion is recorded (index %d)\n", ip, port, service, resp.Index)
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "deregistered %s:%d from service %s (index %d)\n", ip, port, service, resp.Index)
	return err
}
