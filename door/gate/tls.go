package gate

// TLS. With agent.Config.TLS set, the agent serves its whole HTTP port
// (client and internal API) over TLS, and its requests to peers use https
// with agent.Config.PeerTLS, so every node of a cluster must use TLS or
// none. LoadTLS builds both configs from PEM files the way the agent's
// flags name them.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles names the PEM files of a node's TLS setup.
type TLSFiles struct {
	// Cert and Key are this node's certificate chain and private key.
	Cert, Key string
	// ClientCA, if set, makes the node require client certificates
	// signed by it (mutual TLS).
	ClientCA string
	// CA, if set, is what this node trusts in peers' certificates;
	// default ClientCA, else the system roots.
	CA string
}

// LoadTLS reads f and returns the server config and the config for
// requests to peers (which presents this node's certificate, so peers
// that require client certificates accept it). It returns nils when f
// names no certificate.
func LoadTLS(f TLSFiles) (server, peer *tls.Config, err error) {
	if f.Cert == "" && f.Key == "" {
		if f.ClientCA != "" || f.CA != "" {
			return nil, nil, errors.New("gate: tls: a CA is set without a certificate and key")
		}
		return nil, nil, nil
	}
	if f.Cert == "" || f.Key == "" {
		return nil, nil, errors.New("gate: tls: certificate and key must be set together")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("gate: tls: %w", err)
	}
	server = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	peer = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if f.ClientCA != "" {
		pool, err := loadPool(f.ClientCA)
		if err != nil {
			return nil, nil, err
		}
		server.ClientCAs, server.ClientAuth = pool, tls.RequireAndVerifyClientCert
		peer.RootCAs = pool
	}
	if f.CA != "" {
		pool, err := loadPool(f.CA)
		if err != nil {
			return nil, nil, err
		}
		peer.RootCAs = pool
	}
	return server, peer, nil
}

// loadPool reads a PEM bundle of CA certificates.
func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("gate: tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("gate: tls: %s holds no PEM certificate", file)
	}
	return pool, nil
}
