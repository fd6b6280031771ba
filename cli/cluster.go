package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/urfave/cli/v2"
)

// membersResponse is the answer to GET /v1/cluster/members.
type membersResponse struct {
	Self    string `json:"self"`
	Members []struct {
		Name       string `json:"name"`
		HTTPAddr   string `json:"httpAddr"`
		GossipAddr string `json:"gossipAddr"`
		State      string `json:"state"`
		Epoch      int64  `json:"epoch"`
		Partitions int    `json:"partitions"`
		Services   int    `json:"services"`
		Self       bool   `json:"self"`
	} `json:"members"`
}

// ownerResponse is the answer to GET /v1/cluster/owner.
type ownerResponse struct {
	Namespace string `json:"namespace"`
	Group     string `json:"group"`
	Service   string `json:"service"`
	Partition int    `json:"partition"`
	Owner     string `json:"owner"`
	OwnerAddr string `json:"ownerAddr"`
}

func membersCommand() *cli.Command {
	return &cli.Command{
		Name:        "members",
		Usage:       "list the members of the cluster",
		Description: "Lists the cluster members as the node at --addr sees them (GET /v1/cluster/members).",
		Flags:       clientFlags(),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			api, err := newAPIClient(c)
			if err != nil {
				return err
			}
			body, err := api.do(c.Context, http.MethodGet, "/v1/cluster/members", nil, nil)
			if err != nil {
				return fmt.Errorf("members: %w", err)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, body)
			}
			var resp membersResponse
			if err := decode(body, &resp); err != nil {
				return fmt.Errorf("members: %w", err)
			}
			tw := newTable(c.App.Writer)
			fmt.Fprintln(tw, "NAME\tHTTP\tGOSSIP\tSTATE\tPARTITIONS\tSERVICES")
			for _, m := range resp.Members {
				name := m.Name
				if m.Self {
					name += " (self)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", name, m.HTTPAddr, orDash(m.GossipAddr), m.State, m.Partitions, m.Services)
			}
			return tw.Flush()
		},
	}
}

func ownerCommand() *cli.Command {
	return &cli.Command{
		Name:        "owner",
		Usage:       "show which node owns a service",
		Description: "Shows the ring partition and owning node of a service (GET /v1/cluster/owner).",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: "service", Aliases: []string{"s"}, Usage: "service name (required)"},
			&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "group (server default: DEFAULT_GROUP)"},
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "namespace (server default: public)"},
		}, clientFlags()),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			svc, err := requireString(c, "service")
			if err != nil {
				return err
			}
			api, err := newAPIClient(c)
			if err != nil {
				return err
			}
			q := url.Values{"service": {svc}}
			setIfNotEmpty(q, "group", c.String("group"))
			setIfNotEmpty(q, "namespace", c.String("namespace"))
			body, err := api.do(c.Context, http.MethodGet, "/v1/cluster/owner", q, nil)
			if err != nil {
				return fmt.Errorf("owner: %w", err)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, body)
			}
			var resp ownerResponse
			if err := decode(body, &resp); err != nil {
				return fmt.Errorf("owner: %w", err)
			}
			tw := newTable(c.App.Writer)
			fmt.Fprintln(tw, "NAMESPACE\tGROUP\tSERVICE\tPARTITION\tOWNER\tOWNER HTTP")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", resp.Namespace, resp.Group, resp.Service, resp.Partition, orDash(resp.Owner), orDash(resp.OwnerAddr))
			return tw.Flush()
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
