package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config configures a Client. Zero fields take the value DefaultConfig
// gives them, so Config{Addrs: ...} is a complete configuration.
type Config struct {
	// Addrs are the base URLs of roster nodes (http://host:port or
	// https://host:port; "host:port" means http). At least one is required.
	// Requests go to one of them and fail over to the next on error.
	Addrs []string

	// Token, if set, is sent as "Authorization: Bearer <Token>" on every
	// request.
	Token string

	// TLS is the TLS configuration for https addresses, for example with
	// RootCAs set to a private CA. Nil means Go's defaults (the system
	// roots), plus CAFile if that is set.
	TLS *tls.Config

	// CAFile, if set, is a PEM file of CA certificates added to the roots
	// that server certificates are checked against.
	CAFile string

	// HTTPClient, if set, sends every request; TLS and CAFile are then
	// ignored. Its Timeout must be zero or longer than a blocking query
	// (WatchWait plus RequestTimeout).
	HTTPClient *http.Client

	// RequestTimeout bounds one attempt of one request (blocking queries
	// get WatchWait on top). Default 5s.
	RequestTimeout time.Duration

	// Attempts is how many nodes one call tries, failing over from one to
	// the next, before it gives up. Default 3 per address, at least 6.
	Attempts int

	// BackoffMin and BackoffMax bound the wait between rounds of attempts:
	// after every node failed once, the client waits BackoffMin, then
	// doubles it up to BackoffMax, with up to 50% jitter. Defaults 50ms
	// and 2s.
	BackoffMin time.Duration
	BackoffMax time.Duration

	// MembersRefresh is how often the client re-reads the cluster's
	// members, while it has registrations, and with them the ring table
	// that says which node owns which service when the ring's version
	// changed. A failed beat to an owner reads the table at once.
	// Default 10s.
	MembersRefresh time.Duration

	// DisableRing sends every beat to any node, which hands it on to the
	// service's owner. By default the client reads the nodes' ring table
	// (GET /v1/cluster/ring) and beats straight to the owner, falling back
	// to any node when the owner is unknown or does not answer.
	DisableRing bool

	// SingleBeats sends one request per beat. By default the beats of the
	// instances whose owner the client knows go to it batched in PUT
	// /v1/beats (one request for every beat that came due while the
	// previous one was in flight).
	SingleBeats bool

	// BeatBatchWindow is how long the beats for one owner gather before
	// they leave together in one PUT /v1/beats (at most a twentieth of the
	// beat interval). Longer windows mean fewer, larger requests and beats
	// up to a window late. Default 100ms.
	BeatBatchWindow time.Duration

	// WatchWait is how long one blocking query of Watch and WaitGone waits
	// for a change before asking again. Default 60s (nodes cap it at their
	// MaxWait).
	WatchWait time.Duration

	// Logger receives failovers and re-registrations at debug and warn
	// level. Default: discard.
	Logger *slog.Logger

	// OnBeat, if set, is called after every heartbeat attempt of an
	// instance this client keeps alive, with its timing and outcome (for
	// metrics: how late beats leave, how many fail). It runs on the
	// beat's goroutine and must return quickly.
	OnBeat func(BeatEvent)
}

// BeatEvent is one heartbeat attempt, as Config.OnBeat sees it.
type BeatEvent struct {
	Key InstanceKey
	// Due is when the beat was due: an interval after the previous
	// successful beat left (or after the registration), or the retry time
	// after a failure. Sent is when it left the beat loop, Done when its
	// answer arrived.
	Due, Sent, Done time.Time
	// Err is nil when the owner (or any node) acknowledged the beat.
	Err error
}

// DefaultConfig returns a configuration for one node on the default
// address, http://127.0.0.1:8848, with every field filled.
func DefaultConfig() Config {
	return Config{
		Addrs:           []string{"http://127.0.0.1:8848"},
		RequestTimeout:  5 * time.Second,
		Attempts:        6,
		BackoffMin:      50 * time.Millisecond,
		BackoffMax:      2 * time.Second,
		MembersRefresh:  10 * time.Second,
		WatchWait:       60 * time.Second,
		BeatBatchWindow: 100 * time.Millisecond,
		Logger:          slog.New(slog.DiscardHandler),
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.Attempts == 0 {
		c.Attempts = max(d.Attempts, 3*len(c.Addrs))
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = d.BackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(d.BackoffMax, c.BackoffMin)
	}
	if c.MembersRefresh == 0 {
		c.MembersRefresh = d.MembersRefresh
	}
	if c.WatchWait == 0 {
		c.WatchWait = d.WatchWait
	}
	if c.BeatBatchWindow == 0 {
		c.BeatBatchWindow = d.BeatBatchWindow
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	return c
}

// Validate reports whether c can be used; the error names the field.
func (c Config) Validate() error {
	if len(c.Addrs) == 0 {
		return errors.New("client: config: Addrs is empty")
	}
	for _, a := range c.Addrs {
		if _, err := parseAddr(a); err != nil {
			return fmt.Errorf("client: config: Addrs: %w", err)
		}
	}
	switch {
	case c.RequestTimeout < 0:
		return fmt.Errorf("client: config: RequestTimeout %v is negative", c.RequestTimeout)
	case c.Attempts < 0:
		return fmt.Errorf("client: config: Attempts %d is negative", c.Attempts)
	case c.BackoffMin < 0 || c.BackoffMax < 0:
		return errors.New("client: config: BackoffMin and BackoffMax must not be negative")
	case c.BackoffMax > 0 && c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("client: config: BackoffMax %v is below BackoffMin %v", c.BackoffMax, c.BackoffMin)
	case c.MembersRefresh < 0:
		return fmt.Errorf("client: config: MembersRefresh %v is negative", c.MembersRefresh)
	case c.BeatBatchWindow < 0:
		return fmt.Errorf("client: config: BeatBatchWindow %v is negative", c.BeatBatchWindow)
	case c.WatchWait < 0:
		return fmt.Errorf("client: config: WatchWait %v is negative", c.WatchWait)
	case strings.ContainsAny(c.Token, "\r\n"):
		return errors.New("client: config: Token contains a line break")
	}
	return nil
}

// parseAddr turns an address into a base URL; "host:port" means http.
func parseAddr(addr string) (*url.URL, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, errors.New("empty address")
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("address %q: scheme must be http or https", addr)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("address %q: no host", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u, nil
}

// httpClient builds the HTTP client of c: HTTPClient if set, else one with
// c's TLS settings. Timeouts are per request, by context.
func (c Config) httpClient() (*http.Client, error) {
	if c.HTTPClient != nil {
		return c.HTTPClient, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if c.TLS != nil || c.CAFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLS != nil {
			tc = c.TLS.Clone()
		}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("client: config: CAFile: %w", err)
			}
			if tc.RootCAs == nil {
				if tc.RootCAs, err = x509.SystemCertPool(); err != nil || tc.RootCAs == nil {
					tc.RootCAs = x509.NewCertPool()
				}
			}
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("client: config: CAFile %s holds no PEM certificate", c.CAFile)
			}
		}
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr}, nil
}
