package nacos_test

// Compatibility scenarios: the real nacos-sdk-go v1.1.4 naming client against
// a roster agent. Each test uses its own service names and runs in parallel;
// every wait is a poll with a deadline.
//
// Client facts these tests lean on (nacos-sdk-go v1.1.4):
//   - GetService/Select* answer from a cache keyed by the list answer's
//     "name" and "clusters"; a background loop refreshes it every
//     "cacheMillis". Without UpdateCacheWhenEmpty an empty answer is ignored.
//   - The beat loop sleeps the answer's "clientBeatInterval" (ms) between
//     beats; before the first answer it uses the metadata interval read as
//     nanoseconds.
//   - GET/DELETE put parameters into the URL unescaped; PUT (beat, update)
//     sends an unescaped form body; POST (register) is properly encoded.

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/common/constant"
	"github.com/nacos-group/nacos-sdk-go/model"
	"github.com/nacos-group/nacos-sdk-go/vo"

	"github.com/roster-io/roster/internal/await"
)

// TestServiceList checks GetAllServicesInfo (GET /nacos/v1/ns/service/list):
// namespace and group scoping, count and paging; and that a client in a
// namespace registers and beats there, not in public.
func TestServiceList(t *testing.T) {
	t.Parallel()
	a := server(t)
	ns := uniqueName("ns")
	c := newClient(t, a, ns)
	svcA, svcB, svcC := uniqueName("list-a"), uniqueName("list-b"), uniqueName("list-c")
	for i, r := range []struct{ svc, group string }{{svcA, ""}, {svcB, ""}, {svcC, "OTHER"}} {
		register(t, c, vo.RegisterInstanceParam{Ip: "10.10.1.1", Port: uint64(9000 + i), Weight: 1, Enable: true,
			Healthy: true, Ephemeral: true, Metadata: timings(), ServiceName: r.svc, GroupName: r.group})
	}
	tests := []struct {
		name      string
		param     vo.GetAllServiceInfoParam
		wantCount int64
		wantDoms  []string // nil: only the length is checked
		wantLen   int
	}{
		{"default group", vo.GetAllServiceInfoParam{PageSize: 100}, 2, []string{svcA, svcB}, 2},
		{"other group", vo.GetAllServiceInfoParam{GroupName: "OTHER", PageSize: 100}, 1, []string{svcC}, 1},
		{"page 2 of size 1", vo.GetAllServiceInfoParam{PageNo: 2, PageSize: 1}, 2, nil, 1},
		{"explicit namespace", vo.GetAllServiceInfoParam{NameSpace: ns, PageSize: 100}, 2, []string{svcA, svcB}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetAllServicesInfo(tt.param)
			if err != nil {
				t.Fatalf("GetAllServicesInfo: %v", err)
			}
			if got.Count != tt.wantCount || len(got.Doms) != tt.wantLen {
				t.Fatalf("got count %d doms %v, want count %d and %d doms", got.Count, got.Doms, tt.wantCount, tt.wantLen)
			}
			if tt.wantDoms != nil {
				doms := slices.Sorted(slices.Values(got.Doms))
				if !slices.Equal(doms, tt.wantDoms) {
					t.Errorf("doms: got %v, want %v (plain names, no group prefix)", doms, tt.wantDoms)
				}
			}
		})
	}
	t.Run("beats stay in the namespace", func(t *testing.T) {
		// Beats carry namespaceId; a server that dropped it would let the
		// instance expire here and re-register it in public from the beat.
		groupedA := constant.DEFAULT_GROUP + constant.SERVICE_INFO_SPLITER + svcA
		tg := target{ns: ns, grouped: groupedA, ip: "10.10.1.1", port: 9000}
		end := time.Now().Add(beatTimeoutMs*time.Millisecond + 500*time.Millisecond)
		for time.Now().Before(end) {
			got, ok, desc, err := a.instance(tg)
			if err != nil || !ok || !got.Healthy {
				t.Fatalf("want healthy in namespace %s; %s (err %v)", ns, desc, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		got, desc, err := a.list("", groupedA, "")
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		if len(got.Hosts) != 0 {
			t.Errorf("public list: got %d hosts, want 0: %s", len(got.Hosts), desc)
		}
	})
}

// subscription records what a Subscribe callback was handed.
type subscription struct {
	// mu guards calls and last.
	mu    sync.Mutex
	calls int
	last  []model.SubscribeService
	err   error
}

func (s *subscription) callback(services []model.SubscribeService, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.last = slices.Clone(services)
	s.err = err
}

func (s *subscription) snapshot() (int, []model.SubscribeService, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.last, s.err
}

// TestSubscribe subscribes before the service exists, then sees the client's
// polling deliver the registered instance and, after deregistering, the empty
// list.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	a := server(t)
	c := newClient(t, a, "")
	svc := uniqueName("subscribe")
	sub := &subscription{}
	if err := c.Subscribe(&vo.SubscribeParam{ServiceName: svc, SubscribeCallback: sub.callback}); err != nil {
		t.Fatalf("Subscribe to an unknown service: %v (instance/list must answer 200 with "+
			"name, clusters and empty hosts for a service it does not know)", err)
	}
	p := vo.RegisterInstanceParam{Ip: "10.10.2.1", Port: 7001, Weight: 1, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: timings(), ServiceName: svc}
	register(t, c, p)
	await.Explain(t, cacheWait, "callback with the instance", func() (bool, string) {
		n, last, err := sub.snapshot()
		for _, s := range last {
			if s.Ip == p.Ip && s.Port == p.Port && s.Healthy && s.Enable {
				return err == nil, ""
			}
		}
		return false, fmt.Sprintf("%d calls, last %+v, err %v", n, last, err)
	})
	ok, err := c.DeregisterInstance(vo.DeregisterInstanceParam{Ip: p.Ip, Port: p.Port, ServiceName: svc, Ephemeral: true})
	if err != nil || !ok {
		t.Fatalf("DeregisterInstance: got (%v, %v), want (true, nil)", ok, err)
	}
	await.Explain(t, cacheWait, "callback with the empty list", func() (bool, string) {
		n, last, err := sub.snapshot()
		return len(last) == 0 && err != nil, fmt.Sprintf("%d calls, last %+v, err %v", n, last, err)
	})
}

// TestBeatMetadataSpecialChars registers metadata holding '&', '=', '+', '%',
// ';' and spaces (sent URL-encoded by POST), removes the instance behind the
// client's back, and wants the next beat — whose PUT body carries that
// metadata as raw JSON, unescaped — to re-register it with the metadata
// intact, as Nacos does.
func TestBeatMetadataSpecialChars(t *testing.T) {
	t.Parallel()
	a := server(t)
	c := newClient(t, a, "")
	svc := uniqueName("beatmeta")
	grouped := constant.DEFAULT_GROUP + constant.SERVICE_INFO_SPLITER + svc
	meta := timings()
	meta["query"] = "a=1&b=2"
	meta["expr"] = "x==y&&z"
	meta["url"] = "http://h/p?k=v&serviceName=evil&ip=1.2.3.4"
	// Go's json.Marshal sends '&' as \u0026, so these are what a decoding
	// form parser would really mangle: '+', '%', ';' and spaces.
	meta["plus"] = "a+b c"
	meta["percent"] = "100%25 %41 %zz"
	meta["semi"] = "k=v;x=y"
	p := vo.RegisterInstanceParam{Ip: "10.10.3.1", Port: 6001, Weight: 1, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: meta, ServiceName: svc}
	tg := target{grouped: grouped, ip: p.Ip, port: int(p.Port)}
	register(t, c, p)

	got, ok, desc, err := a.instance(tg)
	if err != nil || !ok {
		t.Fatalf("after register: %s: %v", desc, err)
	}
	checkMetadata(t, got.Metadata, meta)

	// The client beats every 500 ms, so the gap between the DELETE and the
	// beat that re-registers the instance may be too short to observe by
	// polling. roster's change index tells instead: a deletion and a
	// re-registration are two changes of the service.
	before := a.serviceIndex(t, svc)
	q := tg.query()
	q.Set("ephemeral", "true")
	status, body, err := a.do("DELETE", "/nacos/v1/ns/instance", q, nil)
	if err != nil || status != 200 {
		t.Fatalf("raw DELETE ?%s: got %d %s (err %v), want 200", q.Encode(), status, body, err)
	}
	await.Explain(t, 3*time.Second, "beat re-registers the deleted instance", func() (bool, string) {
		got, desc, err := a.list("", grouped, "")
		_, found := findHost(got.Hosts, p.Ip, int(p.Port))
		idx := a.serviceIndex(t, svc)
		return err == nil && found && idx >= before+2, fmt.Sprintf("%s (index %d, before the delete %d; v1.1.4 ignores the beat answer's code, so 20404 alone never makes it re-register)", desc, idx, before)
	})
	got, ok, desc, err = a.instance(tg)
	if err != nil || !ok {
		t.Fatalf("after beat: %s: %v", desc, err)
	}
	if !got.Healthy {
		t.Errorf("re-registered instance: got healthy false, want true: %s", desc)
	}
	checkMetadata(t, got.Metadata, meta)
}

// TestOperatorMetrics checks the endpoint the client's ServerHealthy reads.
func TestOperatorMetrics(t *testing.T) {
	t.Parallel()
	a := server(t)
	status, body, err := a.get("/nacos/v1/ns/operator/metrics", nil)
	if err != nil || status != 200 {
		t.Fatalf("GET /nacos/v1/ns/operator/metrics: got %d %s (err %v), want 200", status, body, err)
	}
	if got := jsonString(body, "status"); got != "UP" {
		t.Errorf("status: got %q, want %q in %s", got, "UP", body)
	}
}
