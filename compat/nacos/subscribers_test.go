package nacos_test

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/nacos-group/nacos-sdk-go/vo"

	"github.com/roster-io/roster/internal/await"
)

// TestUnsubscribeAndSubscribers subscribes with the SDK and finds the
// client among the service's UDP subscribers (service/subscribers, with
// the SDK's User-Agent), gets a pushed change, then unsubscribes and
// gets no further callback.
func TestUnsubscribeAndSubscribers(t *testing.T) {
	t.Parallel()
	a := server(t)
	c := newClient(t, a, "")
	svc := uniqueName("unsubscribe")
	sub := &subscription{}
	param := &vo.SubscribeParam{ServiceName: svc, SubscribeCallback: sub.callback}
	if err := c.Subscribe(param); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	await.Explain(t, cacheWait, "the SDK listed among the subscribers", func() (bool, string) {
		code, body, err := a.get("/nacos/v1/ns/service/subscribers", url.Values{"serviceName": {svc}})
		return err == nil && code == 200 && strings.Contains(body, `"agent":"Nacos-Go-Client:v1.1.4"`) && strings.Contains(body, `"count":1`),
			fmt.Sprintf("%d %s %v", code, body, err)
	})
	register(t, c, vo.RegisterInstanceParam{Ip: "10.10.7.1", Port: 7001, Weight: 1, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: timings(), ServiceName: svc})
	await.Explain(t, cacheWait, "callback with the instance", func() (bool, string) {
		n, last, err := sub.snapshot()
		return len(last) == 1, fmt.Sprintf("%d calls, last %+v, err %v", n, last, err)
	})
	// The SDK acknowledges pushes; roster matches its acks to its pushes.
	await.Explain(t, cacheWait, "an acknowledged push", func() (bool, string) {
		code, body, err := a.get("/nacos/v1/ns/operator/push/state", nil)
		return err == nil && code == 200 && !strings.Contains(body, `"acked":0,`), body
	})
	if err := c.Unsubscribe(param); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	before, _, _ := sub.snapshot()
	register(t, c, vo.RegisterInstanceParam{Ip: "10.10.7.2", Port: 7001, Weight: 1, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: timings(), ServiceName: svc})
	// Once the client's cache holds the change (it calls callbacks while
	// updating that cache), the callback must not have run for it.
	await.Explain(t, cacheWait, "the client's cache updated", func() (bool, string) {
		hosts, err := c.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: svc})
		return err == nil && len(hosts) == 2, fmt.Sprintf("%+v %v", hosts, err)
	})
	if after, last, _ := sub.snapshot(); after != before {
		t.Errorf("callback ran %d more times after Unsubscribe (last %+v)", after-before, last)
	}
}

// TestServiceListEverything asks for every service the way Spring Cloud
// Alibaba does (page size math.MaxInt32) through the SDK.
func TestServiceListEverything(t *testing.T) {
	t.Parallel()
	a := server(t)
	ns := uniqueName("ns-all")
	c := newClient(t, a, ns)
	for i := range 3 {
		register(t, c, vo.RegisterInstanceParam{Ip: "10.10.8.1", Port: uint64(7000 + i), Weight: 1, Enable: true, Healthy: true,
			Ephemeral: true, Metadata: timings(), ServiceName: uniqueName("all")})
	}
	got, err := c.GetAllServicesInfo(vo.GetAllServiceInfoParam{NameSpace: ns, PageNo: 1, PageSize: math.MaxInt32})
	if err != nil || got.Count != 3 || len(got.Doms) != 3 {
		t.Fatalf("GetAllServicesInfo with PageSize MaxInt32: %+v, %v; want all 3 services", got, err)
	}
}
