package param

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRead(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		want        Values
	}{
		{
			name:   "query only",
			method: http.MethodGet,
			target: "/nacos/v1/ns/instance/list?serviceName=svc&healthyOnly=true",
			want:   Values{"serviceName": "svc", "healthyOnly": "true"},
		},
		{
			name:        "GET body ignored",
			method:      http.MethodGet,
			target:      "/x?a=1",
			contentType: form,
			body:        "b=2",
			want:        Values{"a": "1"},
		},
		{
			name:        "POST form body merged, query first",
			method:      http.MethodPost,
			target:      "/x?serviceName=q",
			contentType: form,
			body:        "serviceName=b&ip=1.1.1.1&port=80",
			want:        Values{"serviceName": "q", "ip": "1.1.1.1", "port": "80"},
		},
		{
			name:        "PUT raw sdk beat with charset",
			method:      http.MethodPut,
			target:      "/nacos/v1/ns/instance/beat",
			contentType: "application/x-www-form-urlencoded; charset=utf-8",
			body:        "serviceName=DEFAULT_GROUP@@svc&beat=" + sdkBeatJSON,
			want:        Values{"serviceName": "DEFAULT_GROUP@@svc", "beat": sdkBeatJSON},
		},
		{
			name:   "no content type counts as form",
			method: http.MethodDelete,
			target: "/x?ip=1.1.1.1",
			body:   "port=80",
			want:   Values{"ip": "1.1.1.1", "port": "80"},
		},
		{
			name:        "content type case-insensitive",
			method:      http.MethodPatch,
			target:      "/x",
			contentType: "Application/X-WWW-Form-Urlencoded",
			body:        "a=1",
			want:        Values{"a": "1"},
		},
		{
			name:        "JSON body not parsed",
			method:      http.MethodPost,
			target:      "/v1/instance?x=1",
			contentType: "application/json",
			body:        `{"service":"svc"}`,
			want:        Values{"x": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			got, err := Read(r, 1024)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.contentType == "application/json" {
				rest, _ := io.ReadAll(r.Body)
				if string(rest) != tt.body {
					t.Errorf("got body left %q, want %q", rest, tt.body)
				}
			}
		})
	}
}

func TestRead_bodyLimit(t *testing.T) {
	const limit = 16
	tests := []struct {
		name    string
		body    string
		known   bool // whether ContentLength is set
		wrap    bool // whether the body is already behind http.MaxBytesReader
		wantErr error
	}{
		{name: "at limit", body: strings.Repeat("a", limit), known: true},
		{name: "at limit unknown length", body: strings.Repeat("a", limit)},
		{name: "over limit", body: strings.Repeat("a", limit+1), known: true, wantErr: ErrBodyTooLarge},
		{name: "over limit unknown length", body: strings.Repeat("a", limit+1), wantErr: ErrBodyTooLarge},
		{name: "over MaxBytesReader", body: strings.Repeat("a", limit), wrap: true, wantErr: ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "/x", strings.NewReader(tt.body))
			if !tt.known {
				r.ContentLength = -1
			}
			if tt.wrap {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit/2)
			}
			_, err := Read(r, limit)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRead_defaultLimit(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(strings.Repeat("a", DefaultMaxBody+1)))
	_, err := Read(r, 0)
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("got error %v, want %v", err, ErrBodyTooLarge)
	}
}

func TestRead_bodyError(t *testing.T) {
	boom := errors.New("boom")
	r := httptest.NewRequest(http.MethodPost, "/x", nil)
	r.Body = io.NopCloser(iotest.ErrReader(boom))
	_, err := Read(r, 1024)
	if !errors.Is(err, boom) {
		t.Errorf("got error %v, want %v", err, boom)
	}
	if errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("got error %v, want one not wrapping ErrBodyTooLarge", err)
	}
}

// TestRead_declaredLength: a body read in one piece of its declared
// length gives the same values as one read to its end, and a body
// shorter than it declared is an error, not a truncated form.
func TestRead_declaredLength(t *testing.T) {
	body := "serviceName=a%40%40b&ip=10.0.0.1&port=80&metadata=%7B%22k%22%3A%22v%22%7D"
	for _, length := range []int64{int64(len(body)), -1} {
		r := httptest.NewRequest(http.MethodPost, "/x?q=1", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.ContentLength = length
		v, err := Read(r, 1024)
		if err != nil {
			t.Fatalf("length %d: %v", length, err)
		}
		if v.Get("serviceName") != "a@@b" || v.Get("port") != "80" || v.Get("metadata") != `{"k":"v"}` || v.Get("q") != "1" {
			t.Errorf("length %d: got %v", length, v)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("ip=1"))
	r.ContentLength = 10
	if _, err := Read(r, 1024); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body shorter than declared: got %v, want io.ErrUnexpectedEOF", err)
	}
}
