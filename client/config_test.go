package client

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-io/roster/api"
)

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"valid", Config{Addrs: []string{"http://127.0.0.1:8848", "https://r:1", "host:2"}}, ""},
		{"no addrs", Config{}, "Addrs is empty"},
		{"bad scheme", Config{Addrs: []string{"ftp://x:1"}}, "scheme"},
		{"no host", Config{Addrs: []string{"http://"}}, "no host"},
		{"negative timeout", Config{Addrs: []string{"a:1"}, RequestTimeout: -1}, "RequestTimeout"},
		{"backoff order", Config{Addrs: []string{"a:1"}, BackoffMin: 2, BackoffMax: 1}, "BackoffMax"},
		{"token newline", Config{Addrs: []string{"a:1"}, Token: "x\ny"}, "Token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if _, nerr := New(tc.cfg); (nerr == nil) != (err == nil) {
				t.Fatalf("New: got %v, Validate %v", nerr, err)
			}
		})
	}
}

// tlsNode is an https node that requires a bearer token and lists one
// instance.
func tlsNode(t *testing.T, token string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing or wrong token"}`))
			return
		}
		w.Header().Set(api.IndexHeader, "7")
		_, _ = w.Write([]byte(`{"index":7,"instances":[{"service":"orders","ip":"10.0.0.7","port":8080,"healthy":true}]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestClient_TLSAndToken: an https node is reached with its CA given as
// a tls.Config or as a PEM file, and the token is sent; without the CA
// the certificate is refused, and a wrong token gets the node's 401.
func TestClient_TLSAndToken(t *testing.T) {
	srv := tlsNode(t, "s3cret")
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	q := Query{Service: Service{Name: "orders"}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for success
	}{
		{"tls config", Config{TLS: &tls.Config{RootCAs: pool}, Token: "s3cret"}, ""},
		{"ca file", Config{CAFile: caFile, Token: "s3cret"}, ""},
		{"unknown ca", Config{Token: "s3cret"}, "certificate"},
		{"wrong token", Config{CAFile: caFile, Token: "nope"}, "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Addrs, tc.cfg.Attempts = []string{srv.URL}, 1
			c, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer closeClient(t, c)
			l, err := c.List(t.Context(), q)
			if tc.want == "" {
				if err != nil || len(l) != 1 || l[0].IP != "10.0.0.7" {
					t.Fatalf("List: got %v, %v; want the one instance", l, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("List: got %v, want an error with %q", err, tc.want)
			}
			var ae *APIError
			if tc.want == "401" && (!errors.As(err, &ae) || ae.Status != 401) {
				t.Fatalf("got %v, want an APIError 401", err)
			}
		})
	}
	if _, err := New(Config{Addrs: []string{srv.URL}, CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Fatal("New with a missing CAFile: got nil error")
	}
}
