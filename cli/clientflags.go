package cli

// The one-shot client commands (register, deregister, list, services,
// members, owner) share the flags in this file; nodeapi.go sends their
// requests to --addr.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

const (
	defaultAddr    = "http://127.0.0.1:8848"
	defaultTimeout = 5 * time.Second
)

// clientFlags are the flags every client command takes.
func clientFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:    "addr",
			Value:   defaultAddr,
			Usage:   "HTTP address of a roster node (http://host:port; the scheme may be left out)",
			EnvVars: []string{"ROSTER_ADDR"},
		},
		&cli.DurationFlag{
			Name:  "timeout",
			Value: defaultTimeout,
			Usage: "give up on the request after this long",
		},
		&cli.BoolFlag{
			Name:  "json",
			Usage: "print the server's JSON response instead of a table",
		},
		&cli.StringFlag{
			Name:    "token",
			Usage:   "ACL token sent as Authorization: Bearer (needed when the node has ACLs on)",
			EnvVars: []string{"ROSTER_TOKEN"},
		},
		&cli.StringFlag{
			Name:    "ca-file",
			Usage:   "PEM CA `file` that verifies the node's certificate (https:// addresses; default: the system roots)",
			EnvVars: []string{"ROSTER_CA_FILE"},
		},
		&cli.StringFlag{
			Name:    "cert-file",
			Usage:   "PEM client certificate `file`, for nodes that require mutual TLS",
			EnvVars: []string{"ROSTER_CERT_FILE"},
		},
		&cli.StringFlag{
			Name:    "key-file",
			Usage:   "PEM private key `file` of --cert-file",
			EnvVars: []string{"ROSTER_KEY_FILE"},
		},
	}
}

// serviceFlags are the flags naming a service and, optionally, a cluster.
// Commands check that --service is set with requireString.
func serviceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "service", Aliases: []string{"s"}, Usage: "service name (required)"},
		&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "group (server default: DEFAULT_GROUP)"},
		&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "namespace (server default: public)"},
		&cli.StringFlag{Name: "cluster", Aliases: []string{"c"}, Usage: "cluster (server default: DEFAULT)"},
	}
}

// flags concatenates flag lists.
func flags(lists ...[]cli.Flag) []cli.Flag {
	var all []cli.Flag
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// noArgs rejects positional arguments; the client commands take flags only.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return badUsage(c, fmt.Errorf("unexpected argument %q", c.Args().First()))
	}
	return nil
}

// requireString returns the value of a mandatory string flag.
func requireString(c *cli.Context, name string) (string, error) {
	v := strings.TrimSpace(c.String(name))
	if v == "" {
		return "", badUsage(c, fmt.Errorf("missing --%s", name))
	}
	return v, nil
}

// setIfNotEmpty adds key=value to q unless value is empty, so the server
// applies its own defaults.
func setIfNotEmpty(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// serviceQuery builds the namespace/group/service/cluster query parameters
// from the service flags.
func serviceQuery(c *cli.Context, service string) url.Values {
	q := url.Values{}
	setIfNotEmpty(q, "namespace", c.String("namespace"))
	setIfNotEmpty(q, "group", c.String("group"))
	setIfNotEmpty(q, "service", service)
	setIfNotEmpty(q, "cluster", c.String("cluster"))
	return q
}

// clientTLS builds the TLS config of --ca-file, --cert-file and
// --key-file, or nil when none is set.
func clientTLS(c *cli.Context) (*tls.Config, error) {
	ca, cert, key := c.String("ca-file"), c.String("cert-file"), c.String("key-file")
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		b, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %v", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", ca)
		}
	}
	if cert != "" || key != "" {
		if cert == "" || key == "" {
			return nil, errors.New("--cert-file and --key-file must be set together")
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--cert-file/--key-file: %v", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// parseAddr turns --addr into a base URL; "host:port" means http.
func parseAddr(addr string) (*url.URL, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, errors.New("--addr is empty")
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--addr %q: scheme must be http or https", addr)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--addr %q: no host", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}
