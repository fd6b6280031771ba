package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/urfave/cli/v2"
)

// keygenCommand prints a fresh random key for --gossip-key.
func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "print a new random 32-byte base64 key for --gossip-key",
		Description: "Prints a key made of 32 random bytes, base64-encoded. Give the same key to every\n" +
			"node of a cluster with --gossip-key (or ROSTER_GOSSIP_KEY): it encrypts gossip (AES-256)\n" +
			"and, unless --cluster-secret is set, keys internal request signatures and login tokens.",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			_, err := fmt.Fprintln(c.App.Writer, base64.StdEncoding.EncodeToString(key))
			return err
		},
	}
}
