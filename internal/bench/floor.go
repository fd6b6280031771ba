package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The floor: a bare net/http server doing the least work a registry could
// do for the same requests (serving a fixed response from memory; parsing
// the same form into a map), driven by the same generator and client. Its
// throughput bounds what the generator can measure on this machine.

// FloorServer is a bare HTTP server on 127.0.0.1. GET answers Body; any
// other method parses the form body into a map and answers "ok". It is safe
// for concurrent use.
type FloorServer struct {
	// Body is the response to GET.
	Body []byte
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// StartFloor starts a floor server on a free 127.0.0.1 port, serving body
// for GET (a synthetic ~5 KB list answer when body is nil).
func StartFloor(body []byte) (*FloorServer, error) {
	if body == nil {
		body = SyntheticListBody(20)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: floor: %w", err)
	}
	f := &FloorServer{Body: body, ln: ln, done: make(chan struct{})}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(f.done)
		_ = f.srv.Serve(ln)
	}()
	return f, nil
}

// URL is the server's base URL.
func (f *FloorServer) URL() string { return "http://" + f.ln.Addr().String() }

// Close stops the server and waits for it.
func (f *FloorServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = f.srv.Close()
	}
	<-f.done
	return err
}

func (f *FloorServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
		_, _ = w.Write(f.Body)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		if len(v) > 0 {
			m[k] = v[0]
		}
	}
	if m["ip"] == "" && len(m) == 0 {
		http.Error(w, "empty form", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}

// SyntheticListBody is a Nacos instance/list answer for a service of k
// instances with a little metadata each; about 5 KB for k = 20.
func SyntheticListBody(k int) []byte {
	var b strings.Builder
	b.WriteString(`{"name":"DEFAULT_GROUP@@bench","groupName":"DEFAULT_GROUP","clusters":"","cacheMillis":3000,"hosts":[`)
	for i := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"instanceId":"%s#8080#DEFAULT#DEFAULT_GROUP@@bench","ip":"%s","port":8080,"weight":1.0,"healthy":true,"enabled":true,"ephemeral":true,"clusterName":"DEFAULT","serviceName":"DEFAULT_GROUP@@bench","metadata":{"zone":"a"},"instanceHeartBeatInterval":5000,"ipDeleteTimeout":30000}`,
			instanceIP(i+1), instanceIP(i+1))
	}
	b.WriteString(`],"lastRefTime":1700000000000,"checksum":"","allIPs":false,"reachProtectionThreshold":false,"valid":true}`)
	return []byte(b.String())
}

// FloorConfig configures a floor measurement.
type FloorConfig struct {
	Concurrency int
	Duration    time.Duration // per request kind
	// GetBody is served for GET (nil: SyntheticListBody(20)).
	GetBody []byte
	// PostForm builds the i-th form posted (nil: a register form).
	PostForm func(i int) url.Values
}

// FloorResult is the floor's throughput for each request kind.
type FloorResult struct {
	Get, Post         Result
	GetBytes          int
	GetRate, PostRate float64 // req/s
	started           time.Time
	elapsed           time.Duration
}

// MeasureFloor starts a floor server, drives GETs and then form POSTs at
// it for cfg.Duration each, and stops it.
func MeasureFloor(ctx context.Context, client *Client, cfg FloorConfig) (FloorResult, error) {
	started := time.Now()
	srv, err := StartFloor(cfg.GetBody)
	if err != nil {
		return FloorResult{}, err
	}
	defer srv.Close()
	form := cfg.PostForm
	if form == nil {
		form = func(i int) url.Values { return registerForm("bench-floor", i, false, nil) }
	}
	load := Load{Workers: cfg.Concurrency, Duration: cfg.Duration}
	getURL := srv.URL() + "/nacos/v1/ns/instance/list?serviceName=bench&healthyOnly=true"
	get := load.Run(ctx, func(ctx context.Context, _, _ int) error {
		_, _, err := client.Do(ctx, http.MethodGet, getURL, "", "", false)
		return err
	})
	post := load.Run(ctx, func(ctx context.Context, _, i int) error {
		return client.Form(ctx, http.MethodPost, srv.URL(), "/nacos/v1/ns/instance", form(i))
	})
	if get.Ops == 0 || post.Ops == 0 {
		return FloorResult{}, fmt.Errorf("bench: floor: no request succeeded (get: %v, post: %v)", get.FirstErr, post.FirstErr)
	}
	return FloorResult{Get: get, Post: post, GetBytes: len(srv.Body), GetRate: get.Rate(), PostRate: post.Rate(),
		started: started, elapsed: time.Since(started)}, nil
}

// FloorReport reports a floor measurement.
func FloorReport(fr FloorResult) *Report {
	r := &Report{Mode: "floor", Started: fr.started.UTC(), Elapsed: fr.elapsed.Seconds()}
	r.Add("GET fixed body rate", fr.GetRate, UnitReqPerSec)
	r.AddMs("GET p50", fr.Get.Latencies.Percentile(0.50))
	r.AddMs("GET p99", fr.Get.Latencies.Percentile(0.99))
	r.Add("GET body size", float64(fr.GetBytes), "bytes")
	r.Add("POST form rate", fr.PostRate, UnitReqPerSec)
	r.AddMs("POST p50", fr.Post.Latencies.Percentile(0.50))
	r.AddMs("POST p99", fr.Post.Latencies.Percentile(0.99))
	if fr.Get.Errors+fr.Post.Errors > 0 {
		r.Notef("%d floor requests failed; first: %v", fr.Get.Errors+fr.Post.Errors, firstOf(fr.Get.FirstErr, fr.Post.FirstErr))
	}
	return r
}

func firstOf(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
