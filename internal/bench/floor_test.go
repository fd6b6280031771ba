package bench

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFloorServer(t *testing.T) {
	srv, err := StartFloor(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("got URL %s, want 127.0.0.1", srv.URL())
	}
	if n := len(srv.Body); n < 4000 || n > 7000 {
		t.Errorf("got synthetic body of %d bytes, want about 5 KB", n)
	}
	resp, err := http.Get(srv.URL() + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(srv.Body) {
		t.Errorf("GET: got %d and %d bytes, want 200 and the fixed body", resp.StatusCode, len(body))
	}
	resp, err = http.PostForm(srv.URL()+"/x", url.Values{"ip": {"10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("POST: got %d %q, want 200 ok", resp.StatusCode, body)
	}
	resp, err = http.Post(srv.URL()+"/x", "application/x-www-form-urlencoded", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty POST: got %d, want 400", resp.StatusCode)
	}
}

func TestMeasureFloor(t *testing.T) {
	c := &Client{HTTP: NewHTTPClient(4, 2*time.Second)}
	fr, err := MeasureFloor(context.Background(), c, FloorConfig{Concurrency: 4, Duration: 200 * time.Millisecond, GetBody: []byte(`{"hosts":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if fr.GetRate <= 0 || fr.PostRate <= 0 || fr.Get.Errors+fr.Post.Errors != 0 {
		t.Errorf("got get %.0f/s post %.0f/s errors %d, want positive rates and no errors", fr.GetRate, fr.PostRate, fr.Get.Errors+fr.Post.Errors)
	}
	if fr.GetBytes != len(`{"hosts":[]}`) {
		t.Errorf("got body of %d bytes, want the one given", fr.GetBytes)
	}
	r := FloorReport(fr)
	if _, ok := r.Figure("GET fixed body rate"); !ok {
		t.Errorf("got figures %+v, want a GET rate", r.Figures)
	}
}

func TestLoad_boundedByOps(t *testing.T) {
	res := Load{Workers: 8, Ops: 100}.Run(context.Background(), func(context.Context, int, int) error { return nil })
	if res.Ops != 100 || len(res.Latencies) != 100 || res.Errors != 0 {
		t.Errorf("got %d ops, %d latencies, %d errors; want 100, 100, 0", res.Ops, len(res.Latencies), res.Errors)
	}
}

func TestLoad_boundedByDuration(t *testing.T) {
	start := time.Now()
	res := Load{Workers: 2, Duration: 100 * time.Millisecond}.Run(context.Background(), func(ctx context.Context, _, i int) error {
		if i%2 == 1 {
			return io.EOF
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if el := time.Since(start); el > time.Second {
		t.Errorf("got a run of %v, want about 100ms", el)
	}
	if res.Ops == 0 || res.Errors == 0 || res.FirstErr != io.EOF {
		t.Errorf("got %d ops, %d errors (first %v); want both counted", res.Ops, res.Errors, res.FirstErr)
	}
}
