package param

import (
	"maps"
	"net/url"
	"strings"
	"testing"
)

// sdkBeatJSON is the beat JSON nacos-sdk-go v1 sends unescaped in a PUT body.
const sdkBeatJSON = `{"ip":"1.2.3.4","port":80,"weight":1,"serviceName":"DEFAULT_GROUP@@svc","cluster":"DEFAULT","metadata":{"a":"x&y=z%20"},"scheduled":false}`

func TestParse(t *testing.T) {
	javaBeat := url.Values{
		"serviceName": {"DEFAULT_GROUP@@svc"},
		"beat":        {sdkBeatJSON},
		"namespaceId": {"public"},
	}.Encode()
	tests := []struct {
		name  string
		query string
		body  string
		want  Values
	}{
		{
			name: "nacos-sdk-go raw beat body",
			body: "namespaceId=public&serviceName=DEFAULT_GROUP@@svc&beat=" + sdkBeatJSON,
			want: Values{"namespaceId": "public", "serviceName": "DEFAULT_GROUP@@svc", "beat": sdkBeatJSON},
		},
		{
			name: "raw beat first with trailing ampersand",
			body: "beat=" + sdkBeatJSON + "&serviceName=DEFAULT_GROUP@@svc&",
			want: Values{"serviceName": "DEFAULT_GROUP@@svc", "beat": sdkBeatJSON},
		},
		{
			name: "escaped java-style beat body",
			body: javaBeat,
			want: Values{"namespaceId": "public", "serviceName": "DEFAULT_GROUP@@svc", "beat": sdkBeatJSON},
		},
		{
			name: "raw metadata JSON with escaped quote and brace in string",
			body: `metadata={"k":"a\"}&b=c","n":[1,{"x":"]"}]}&ip=1.1.1.1`,
			want: Values{"metadata": `{"k":"a\"}&b=c","n":[1,{"x":"]"}]}`, "ip": "1.1.1.1"},
		},
		{
			name: "raw JSON array",
			body: `ids=["a&b","c"]&x=1`,
			want: Values{"ids": `["a&b","c"]`, "x": "1"},
		},
		{
			name: "unbalanced JSON falls back to next ampersand",
			body: `metadata={"a":1&ip=1.1.1.1`,
			want: Values{"metadata": `{"a":1`, "ip": "1.1.1.1"},
		},
		{
			name: "unterminated string falls back",
			body: `beat={"ip":"1.2.3.4&port=80`,
			want: Values{"beat": `{"ip":"1.2.3.4`, "port": "80"},
		},
		{
			name: "JSON followed by junk falls back and stays verbatim",
			body: `m={"a":"b"}x%zz&y=2`,
			want: Values{"m": `{"a":"b"}x%zz`, "y": "2"},
		},
		{
			name:  "escaped values and keys",
			query: "a%20b=c+d&e=%41%42",
			want:  Values{"a b": "c d", "e": "AB"},
		},
		{
			name:  "bad percent sequence kept raw",
			query: "a=100%&b=%zz&c%=1",
			want:  Values{"a": "100%", "b": "%zz", "c%": "1"},
		},
		{
			name:  "value with equals sign",
			query: "a=b=c",
			want:  Values{"a": "b=c"},
		},
		{
			name:  "empty keys and empty pairs skipped",
			query: "&&=x&a&b=&=",
			want:  Values{"a": "", "b": ""},
		},
		{
			name:  "duplicate keys first wins",
			query: "a=1&a=2&b=x&b=y",
			want:  Values{"a": "1", "b": "x"},
		},
		{
			name:  "escaped and raw spellings of one key",
			query: "a%62=1&ab=2",
			want:  Values{"ab": "1"},
		},
		{
			name:  "query wins over body",
			query: "serviceName=q&ip=1.1.1.1",
			body:  "serviceName=b&port=80",
			want:  Values{"serviceName": "q", "ip": "1.1.1.1", "port": "80"},
		},
		{
			name: "semicolon is an ordinary byte",
			body: "a=1;b=2",
			want: Values{"a": "1;b=2"},
		},
		{
			name: "empty input",
			want: Values{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.query, []byte(tt.body))
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseInto_keepsExisting(t *testing.T) {
	v := Values{"a": "old"}
	ParseInto(v, "a=new&b=2")
	want := Values{"a": "old", "b": "2"}
	if !maps.Equal(v, want) {
		t.Errorf("got %q, want %q", v, want)
	}
}

func TestParseInto_linearWork(t *testing.T) {
	tests := []struct {
		name string
		unit string
	}{
		{"unterminated strings", `a={"&`},
		{"strings closing across pairs", `a"={"&`},
		{"deep nesting", `a={{{{{{{{&`},
		{"plain pairs", `key=value&`},
		{"balanced JSON", `b={"x":"&"}&`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := strings.Repeat(tt.unit, 20000)
			got := parseInto(make(Values), s)
			if limit := 3*len(s) + 3; got > limit {
				t.Errorf("got %d bytes examined, want at most %d", got, limit)
			}
		})
	}
}

func TestValues_Get(t *testing.T) {
	v := Values{"a": "1", "e": ""}
	tests := []struct {
		key, want string
	}{
		{"a", "1"},
		{"e", ""},
		{"missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := v.Get(tt.key); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValues_First(t *testing.T) {
	v := Values{"clusterName": "c1", "cluster": "c2", "enable": "false", "empty": ""}
	tests := []struct {
		name   string
		keys   []string
		want   string
		wantOK bool
	}{
		{"first present", []string{"clusterName", "cluster"}, "c1", true},
		{"falls back", []string{"enabled", "enable"}, "false", true},
		{"empty value counts as present", []string{"empty", "cluster"}, "", true},
		{"none present", []string{"x", "y"}, "", false},
		{"no keys", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := v.First(tt.keys...)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %q, %v, want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
