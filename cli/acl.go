package cli

// roster acl: users, roles and permissions over Nacos' API
// (/nacos/v1/auth/users, /roles, /permissions) of the node at --addr,
// as the --token's principal (a global admin, but for whoami and a
// user's own password). Passwords are read from --password, the
// ROSTER_ACL_PASSWORD environment variable or --password-file, and sent
// in the request body, never in the URL.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func aclCommand() *cli.Command {
	return &cli.Command{
		Name:  "acl",
		Usage: "manage users, roles and permissions (docs/security.md)",
		Description: "Users log in with Nacos' login API; a role binds users to permissions; a permission grants\n" +
			"r, w or rw on a resource NAMESPACE:GROUP:SERVICE where * matches anything (team-a:*:*).\n" +
			"Every command but whoami and a user's own passwd needs a global admin's --token.",
		Subcommands: []*cli.Command{
			{Name: "user", Usage: "add, delete, list users or set a password", Subcommands: []*cli.Command{
				aclCmd("add", "create user NAME", "NAME", true, func(c *cli.Context, a []string) (string, string, url.Values, error) {
					pw, err := aclPassword(c)
					return http.MethodPost, "users", url.Values{"username": {a[0]}, "password": {pw}}, err
				}),
				aclCmd("delete", "delete user NAME and its role bindings", "NAME", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodDelete, "users", url.Values{"username": {a[0]}}, nil
				}),
				aclCmd("passwd", "set user NAME's password", "NAME", true, func(c *cli.Context, a []string) (string, string, url.Values, error) {
					pw, err := aclPassword(c)
					return http.MethodPut, "users", url.Values{"username": {a[0]}, "newPassword": {pw}}, err
				}),
				aclCmd("list", "list users (never their passwords)", "", false, func(_ *cli.Context, _ []string) (string, string, url.Values, error) {
					return http.MethodGet, "users", url.Values{"pageNo": {"1"}, "pageSize": {"1000"}}, nil
				}),
			}},
			{Name: "role", Usage: "bind, unbind or list roles", Subcommands: []*cli.Command{
				aclCmd("add", "bind ROLE to USER", "ROLE USER", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodPost, "roles", url.Values{"role": {a[0]}, "username": {a[1]}}, nil
				}),
				aclCmd("delete", "unbind ROLE from USER, or from every user without USER", "ROLE [USER]", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodDelete, "roles", url.Values{"role": {a[0]}, "username": {argOr(a, 1)}}, nil
				}),
				aclCmd("list", "list role bindings, of USER when given", "[USER]", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodGet, "roles", url.Values{"username": {argOr(a, 0)}, "pageNo": {"1"}, "pageSize": {"1000"}}, nil
				}),
			}},
			{Name: "perm", Usage: "add, delete or list permissions", Subcommands: []*cli.Command{
				aclCmd("add", "grant ROLE ACTION (r, w or rw) on RESOURCE (NAMESPACE:GROUP:SERVICE)", "ROLE RESOURCE ACTION", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodPost, "permissions", url.Values{"role": {a[0]}, "resource": {a[1]}, "action": {a[2]}}, nil
				}),
				aclCmd("delete", "revoke a permission", "ROLE RESOURCE ACTION", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodDelete, "permissions", url.Values{"role": {a[0]}, "resource": {a[1]}, "action": {a[2]}}, nil
				}),
				aclCmd("list", "list permissions, of ROLE when given", "[ROLE]", false, func(_ *cli.Context, a []string) (string, string, url.Values, error) {
					return http.MethodGet, "permissions", url.Values{"role": {argOr(a, 0)}, "pageNo": {"1"}, "pageSize": {"1000"}}, nil
				}),
			}},
			aclCmd("whoami", "show the --token's user, roles and permissions", "", false, func(_ *cli.Context, _ []string) (string, string, url.Values, error) {
				return http.MethodGet, "self", url.Values{}, nil
			}),
		},
	}
}

// aclRequest builds the request of one acl command from its arguments.
type aclRequest func(c *cli.Context, args []string) (method, path string, form url.Values, err error)

// aclCmd is one acl command taking the arguments usage names.
func aclCmd(name, usage, args string, password bool, build aclRequest) *cli.Command {
	fl := clientFlags()
	if password {
		fl = append(fl,
			&cli.StringFlag{Name: "password", EnvVars: []string{"ROSTER_ACL_PASSWORD"}, Usage: "the password (prefer the environment variable or --password-file)"},
			&cli.StringFlag{Name: "password-file", Usage: "`file` whose first line is the password"})
	}
	return &cli.Command{Name: name, Usage: usage, ArgsUsage: args, Flags: fl, Action: func(c *cli.Context) error {
		want := strings.Fields(args)
		min := 0
		for _, w := range want {
			if !strings.HasPrefix(w, "[") {
				min++
			}
		}
		if c.NArg() < min || c.NArg() > len(want) {
			return badUsage(c, fmt.Errorf("want arguments %s, got %d", args, c.NArg()))
		}
		method, path, form, err := build(c, c.Args().Slice())
		if err != nil {
			return err
		}
		body, err := aclDo(c, method, path, form)
		if err != nil {
			return fmt.Errorf("acl %s: %w", name, err)
		}
		return aclPrint(c, path, method, body)
	}}
}

func argOr(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

// aclPassword reads the password of user add and passwd.
func aclPassword(c *cli.Context) (string, error) {
	if f := c.String("password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	if pw := c.String("password"); pw != "" {
		return pw, nil
	}
	return "", badUsage(c, fmt.Errorf("missing --password, ROSTER_ACL_PASSWORD or --password-file"))
}

// aclDo sends the request: the form in the body (the query for GET and
// DELETE, which carry no password) with the token as a bearer.
func aclDo(c *cli.Context, method, path string, form url.Values) ([]byte, error) {
	base, err := parseAddr(c.String("addr"))
	if err != nil {
		return nil, badUsage(c, err)
	}
	tc, err := clientTLS(c)
	if err != nil {
		return nil, badUsage(c, err)
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	u := base.String() + "/nacos/v1/auth/" + path
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		u += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if tok := strings.TrimSpace(c.String("token")); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach roster at %s: %w", base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(b)), "caused: "), ";")
		return nil, &apiError{status: resp.StatusCode, message: msg}
	}
	return b, nil
}

// aclPrint prints an answer: the JSON with --json, else a table of a
// list or the message of a change.
func aclPrint(c *cli.Context, path, method string, body []byte) error {
	w := c.App.Writer
	if c.Bool("json") {
		return printJSON(w, body)
	}
	if method != http.MethodGet {
		var rr struct{ Message string }
		_ = json.Unmarshal(body, &rr)
		_, err := fmt.Fprintln(w, rr.Message)
		return err
	}
	if path == "self" {
		var s struct {
			Username    string
			GlobalAdmin bool
			Roles       []string
			Permissions []struct{ Role, Resource, Action string }
		}
		if err := decode(body, &s); err != nil {
			return err
		}
		fmt.Fprintf(w, "user %s, global admin %v, roles %s\n", s.Username, s.GlobalAdmin, strings.Join(s.Roles, ","))
		for _, p := range s.Permissions {
			fmt.Fprintf(w, "  %s %s (role %s)\n", p.Action, p.Resource, p.Role)
		}
		return nil
	}
	var pg struct {
		PageItems []map[string]string `json:"pageItems"`
	}
	if err := decode(body, &pg); err != nil {
		return err
	}
	cols := map[string][]string{"users": {"username", "source"}, "roles": {"role", "username"}, "permissions": {"role", "resource", "action"}}[path]
	t := newTable(w)
	fmt.Fprintln(t, strings.ToUpper(strings.Join(cols, "\t")))
	for _, it := range pg.PageItems {
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = it[col]
		}
		fmt.Fprintln(t, strings.Join(row, "\t"))
	}
	return t.Flush()
}
