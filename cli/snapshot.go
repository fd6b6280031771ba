package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/durable"
)

// snapshotCommand is `roster snapshot save|restore FILE`.
func snapshotCommand() *cli.Command {
	return &cli.Command{
		Name:  "snapshot",
		Usage: "save or restore a backup of the persistent instances and services",
		Description: "save FILE writes a backup of the live persistent instances and service records of the\n" +
			"node at --addr (GET /v1/snapshot; needs a token when ACLs are on). restore FILE merges one\n" +
			"into the cluster (POST /v1/snapshot): records newer than the cluster's win, so a restore never\n" +
			"undoes a later write. The file is versioned and checksummed; a damaged or truncated one is refused.",
		Subcommands: []*cli.Command{
			{Name: "save", Usage: "write a snapshot to FILE", ArgsUsage: "FILE", Flags: clientFlags(), Action: snapshotSave},
			{Name: "restore", Usage: "restore the snapshot in FILE", ArgsUsage: "FILE", Flags: clientFlags(), Action: snapshotRestore},
		},
	}
}

// snapshotFile returns the FILE argument.
func snapshotFile(c *cli.Context) (string, error) {
	if c.NArg() != 1 || c.Args().First() == "" {
		return "", badUsage(c, errors.New("want exactly one argument: the snapshot FILE"))
	}
	return c.Args().First(), nil
}

func snapshotSave(c *cli.Context) error {
	path, err := snapshotFile(c)
	if err != nil {
		return err
	}
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	b, err := api.do(c.Context, http.MethodGet, "/v1/snapshot", nil, nil)
	if err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	recs, _, err := durable.DecodeSnapshot(b) // check before keeping it
	if err != nil {
		return fmt.Errorf("snapshot save: the node's answer: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "saved %d records to %s\n", len(recs), path)
	return nil
}

func snapshotRestore(c *cli.Context) error {
	path, err := snapshotFile(c)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	if _, _, err := durable.DecodeSnapshot(b); err != nil {
		return fmt.Errorf("snapshot restore: %s: %w", path, err)
	}
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	ans, err := api.do(c.Context, http.MethodPost, "/v1/snapshot", nil, map[string][]byte{"snapshot": b})
	if err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	var r struct {
		Records int `json:"records"`
		Applied int `json:"applied"`
	}
	if err := decode(ans, &r); err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "restored %s: %d records, %d newer than the cluster's\n", path, r.Records, r.Applied)
	return nil
}
