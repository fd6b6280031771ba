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
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/clients"
	"github.com/nacos-group/nacos-sdk-go/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/common/constant"
	"github.com/nacos-group/nacos-sdk-go/common/logger"
	"github.com/nacos-group/nacos-sdk-go/model"
	"github.com/nacos-group/nacos-sdk-go/util"
	"github.com/nacos-group/nacos-sdk-go/vo"
	"go.uber.org/zap"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

const (
	beatIntervalMs  = 500
	beatTimeoutMs   = 1500
	deleteTimeoutMs = 3000

	// cacheWait bounds how long the client's cache may lag the server: the
	// agent's cacheMillis (3 s by default, as Nacos 1.4 answers clients it
	// does not push to) plus the client's 1 s refresh tick plus slack.
	cacheWait = 8 * time.Second
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	dir, err := os.MkdirTemp("", "roster-nacos-compat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat: temp dir:", err)
		os.Exit(1)
	}
	workDir = dir
	// util.LocalIP caches its answer in an unguarded global on first use;
	// fill it before any client goroutines exist so -race stays quiet (and
	// log to a file, not the test output).
	_ = logger.InitLogger(logger.Config{Level: "warn", LogFileName: constant.LOG_FILE_NAME, LogDir: dir})
	util.LocalIP()
	code := m.Run()
	// Clients cannot be closed in v1.1.4: they keep beating, and once the
	// agent is gone they log every failure, recreating their log files
	// while (or after) the directory is removed. Their logs go nowhere
	// from here on.
	_ = logger.InitLogger(logger.Config{CustomLogger: zap.NewNop().Sugar()})
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "compat: stop agent:", err)
			code = 1
		}
		if code != 0 || os.Getenv("ROSTER_COMPAT_VERBOSE") != "" {
			fmt.Fprintf(os.Stderr, "---- roster agent output ----\n%s---- end ----\n", srv.Output())
		}
	}
	// Clients cannot be closed in v1.1.4 and may still write cache files.
	_ = os.RemoveAll(dir)
	agentproc.RemoveBinaries()
	os.Exit(code)
}

// timings is the short heartbeat metadata every test instance carries.
func timings() map[string]string {
	return map[string]string{
		constant.HEART_BEAT_INTERVAL: fmt.Sprint(beatIntervalMs),
		constant.HEART_BEAT_TIMEOUT:  fmt.Sprint(beatTimeoutMs),
		constant.IP_DELETE_TIMEOUT:   fmt.Sprint(deleteTimeoutMs),
	}
}

// clientConfig is the client configuration the tests use. Client dirs live
// under workDir rather than t.TempDir: v1.1.4 clients cannot be closed and
// keep writing their cache after a test ends, which would break TempDir's
// cleanup.
func clientConfig(port int, ns, dir string) (constant.ClientConfig, []constant.ServerConfig) {
	cc := constant.ClientConfig{
		NamespaceId:          ns,
		TimeoutMs:            3000,
		NotLoadCacheAtStart:  true,
		UpdateCacheWhenEmpty: true,
		CacheDir:             filepath.Join(dir, "cache"),
		LogDir:               filepath.Join(dir, "log"),
		LogLevel:             "warn",
	}
	sc := []constant.ServerConfig{{IpAddr: "127.0.0.1", Port: uint64(port), Scheme: "http", ContextPath: "/nacos"}}
	return cc, sc
}

func newClient(t *testing.T, a *agent, ns string) naming_client.INamingClient {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "client-")
	if err != nil {
		t.Fatal(err)
	}
	cc, sc := clientConfig(a.port, ns, dir)
	c, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: sc})
	if err != nil {
		t.Fatalf("NewNamingClient: %v", err)
	}
	return c
}

var nameSeq atomic.Int64

// uniqueName returns a service name no other test uses.
func uniqueName(base string) string {
	return fmt.Sprintf("compat-%s-%d-%d", base, nameSeq.Add(1), time.Now().UnixNano()%1e6)
}

// register registers p and deregisters it at cleanup (stopping its beats).
func register(t *testing.T, c naming_client.INamingClient, p vo.RegisterInstanceParam) {
	t.Helper()
	ok, err := c.RegisterInstance(p)
	if err != nil || !ok {
		t.Fatalf("RegisterInstance(%s %s:%d): got (%v, %v), want (true, nil)", p.ServiceName, p.Ip, p.Port, ok, err)
	}
	t.Cleanup(func() {
		_, _ = c.DeregisterInstance(vo.DeregisterInstanceParam{Ip: p.Ip, Port: p.Port,
			Cluster: p.ClusterName, ServiceName: p.ServiceName, GroupName: p.GroupName, Ephemeral: p.Ephemeral})
	})
}

// checkHost compares a host as the client parsed it with what was registered.
func checkHost(t *testing.T, got model.Instance, p vo.RegisterInstanceParam, grouped string) {
	t.Helper()
	cluster := p.ClusterName
	if cluster == "" {
		cluster = "DEFAULT"
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"ip", got.Ip, p.Ip},
		{"port", got.Port, p.Port},
		{"weight", got.Weight, p.Weight},
		{"enabled", got.Enable, true},
		{"healthy", got.Healthy, true},
		{"ephemeral", got.Ephemeral, true},
		{"clusterName", got.ClusterName, cluster},
		{"serviceName", got.ServiceName, grouped},
		{"instanceId", got.InstanceId, fmt.Sprintf("%s#%d#%s#%s", p.Ip, p.Port, cluster, grouped)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("host %s: got %v, want %v", c.field, c.got, c.want)
		}
	}
	checkMetadata(t, got.Metadata, p.Metadata)
}

// checkMetadata wants every sent key back with the same value; extra keys
// the server adds are only logged.
func checkMetadata(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("metadata[%q]: got %q (present %v), want %q", k, g, ok, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Logf("metadata: server added %q=%q", k, got[k])
		}
	}
}

// TestLifecycle covers scenarios 1–3: register, read back through every
// client query, stay healthy on beats past twice the timeout, deregister.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	a := server(t)
	c := newClient(t, a, "")
	svc := uniqueName("lifecycle")
	grouped := constant.DEFAULT_GROUP + constant.SERVICE_INFO_SPLITER + svc
	meta := timings()
	meta["env"] = "compat"
	meta["version"] = "v1"
	p := vo.RegisterInstanceParam{Ip: "10.10.0.1", Port: 8080, Weight: 3, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: meta, ClusterName: "c1", ServiceName: svc}
	tg := target{grouped: grouped, cluster: "c1", ip: p.Ip, port: int(p.Port)}

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	register(t, c, p)
	step("raw list echoes name and clusters", func(t *testing.T) {
		for _, clusters := range []string{"c1", ""} {
			got, desc, err := a.list("", grouped, clusters)
			if err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			if got.Name != grouped || got.Clusters != clusters {
				t.Errorf("name/clusters: got %q/%q, want %q/%q (the client caches under them): %s",
					got.Name, got.Clusters, grouped, clusters, desc)
			}
			if got.CacheMillis == 0 {
				t.Errorf("cacheMillis: got 0, want > 0 (0 makes the client refetch every second): %s", desc)
			}
			if got.LastRefTime == 0 {
				t.Errorf("lastRefTime: got 0, want a millisecond timestamp: %s", desc)
			}
			h, ok := findHost(got.Hosts, p.Ip, int(p.Port))
			if !ok {
				t.Fatalf("host %s:%d missing: %s", p.Ip, p.Port, desc)
			}
			checkHost(t, h, p, grouped)
		}
	})
	step("SelectInstances healthy only", func(t *testing.T) {
		got, err := c.SelectInstances(vo.SelectInstancesParam{ServiceName: svc, Clusters: []string{"c1"}, HealthyOnly: true})
		if err != nil || len(got) != 1 {
			t.Fatalf("SelectInstances: got %d hosts, err %v; want 1, nil", len(got), err)
		}
		checkHost(t, got[0], p, grouped)
	})
	step("SelectAllInstances", func(t *testing.T) {
		got, err := c.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: svc})
		if err != nil || len(got) != 1 {
			t.Fatalf("SelectAllInstances: got %d hosts, err %v; want 1, nil", len(got), err)
		}
		checkHost(t, got[0], p, grouped)
	})
	step("GetService", func(t *testing.T) {
		got, err := c.GetService(vo.GetServiceParam{ServiceName: svc, Clusters: []string{"c1"}})
		if err != nil {
			t.Fatalf("GetService: %v", err)
		}
		if got.Name != grouped || got.Clusters != "c1" || len(got.Hosts) != 1 {
			t.Fatalf("GetService: got name %q clusters %q hosts %d, want %q %q 1", got.Name, got.Clusters, len(got.Hosts), grouped, "c1")
		}
		checkHost(t, got.Hosts[0], p, grouped)
	})
	step("SelectOneHealthyInstance", func(t *testing.T) {
		got, err := c.SelectOneHealthyInstance(vo.SelectOneHealthInstanceParam{ServiceName: svc, Clusters: []string{"c1"}})
		if err != nil {
			t.Fatalf("SelectOneHealthyInstance: %v", err)
		}
		if got.Ip != p.Ip || got.Port != p.Port {
			t.Errorf("SelectOneHealthyInstance: got %s:%d, want %s:%d", got.Ip, got.Port, p.Ip, p.Port)
		}
	})
	step("raw instance detail", func(t *testing.T) {
		got, ok, desc, err := a.instance(tg)
		if err != nil || !ok {
			t.Fatalf("%s: err %v", desc, err)
		}
		if got.IP != p.Ip || got.Port != int(p.Port) || got.Weight != p.Weight || !got.Healthy || got.ClusterName != "c1" {
			t.Errorf("detail: got %+v, want ip %s port %d weight %v healthy cluster c1", got, p.Ip, p.Port, p.Weight)
		}
		checkMetadata(t, got.Metadata, meta)
	})
	step("beats keep it healthy past twice the timeout", func(t *testing.T) {
		// Watch, not sleep: every sample over 3.5 s must be healthy.
		end := time.Now().Add(2*beatTimeoutMs*time.Millisecond + 500*time.Millisecond)
		for n := 0; time.Now().Before(end); n++ {
			got, ok, desc, err := a.instance(tg)
			if err != nil || !ok || !got.Healthy {
				t.Fatalf("sample %d: want healthy; %s (err %v). Does the beat answer carry "+
					"clientBeatInterval = the instance's %d ms? The client sleeps whatever it gets.", n, desc, err, beatIntervalMs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	step("deregister", func(t *testing.T) {
		ok, err := c.DeregisterInstance(vo.DeregisterInstanceParam{Ip: p.Ip, Port: p.Port, Cluster: "c1", ServiceName: svc, Ephemeral: true})
		if err != nil || !ok {
			t.Fatalf("DeregisterInstance: got (%v, %v), want (true, nil)", ok, err)
		}
		await.Explain(t, 2*time.Second, "raw list empty", func() (bool, string) {
			got, desc, err := a.list("", grouped, "")
			if err != nil {
				return false, fmt.Sprintf("%s: %v", desc, err)
			}
			_, found := findHost(got.Hosts, p.Ip, int(p.Port))
			return !found, desc
		})
		await.Explain(t, cacheWait, "client SelectAllInstances empty", func() (bool, string) {
			got, err := c.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: svc})
			return err == nil && len(got) == 0, fmt.Sprintf("%d hosts, err %v", len(got), err)
		})
	})
}

// TestUpdateInstance checks PUT /nacos/v1/ns/instance: an unescaped form body
// whose metadata is raw JSON, a fractional weight, and "enable" (not
// "enabled") as the flag.
func TestUpdateInstance(t *testing.T) {
	t.Parallel()
	a := server(t)
	c := newClient(t, a, "")
	svc := uniqueName("update")
	grouped := constant.DEFAULT_GROUP + constant.SERVICE_INFO_SPLITER + svc
	meta := timings()
	meta["version"] = "v1"
	p := vo.RegisterInstanceParam{Ip: "10.10.0.2", Port: 8081, Weight: 1, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: meta, ServiceName: svc}
	register(t, c, p)

	meta2 := timings()
	meta2["version"] = "v2"
	meta2["json"] = `{"a":[1,2],"b":"c:d"}`
	meta2["path"] = "/api/v1?x"
	meta2["raw"] = "1+1=2; 50% &more"
	update := func(enable bool) {
		t.Helper()
		ok, err := c.UpdateInstance(vo.UpdateInstanceParam{Ip: p.Ip, Port: p.Port, ServiceName: svc,
			Ephemeral: true, Weight: 2.5, Enable: enable, Metadata: meta2})
		if err != nil || !ok {
			t.Fatalf("UpdateInstance(enable=%v): got (%v, %v), want (true, nil)", enable, ok, err)
		}
	}
	// listed reports whether the raw list shows the host, and whether it
	// carries the update.
	listed := func() (found, updated bool, desc string) {
		got, desc, err := a.list("", grouped, "")
		if err != nil {
			return false, false, fmt.Sprintf("%s: %v", desc, err)
		}
		h, found := findHost(got.Hosts, p.Ip, int(p.Port))
		return found, found && h.Weight == 2.5 && h.Enable && maps.Equal(h.Metadata, meta2), desc
	}
	tg := target{grouped: grouped, ip: p.Ip, port: int(p.Port)}
	detail := func(wantEnabled bool) (bool, string) {
		got, ok, desc, err := a.instance(tg)
		if err != nil || !ok {
			return false, fmt.Sprintf("%s (err %v)", desc, err)
		}
		if got.Weight != 2.5 || !maps.Equal(got.Metadata, meta2) || (got.Enabled != nil && *got.Enabled != wantEnabled) {
			return false, fmt.Sprintf("want weight 2.5, enabled %v, metadata %v; %s", wantEnabled, meta2, desc)
		}
		return true, desc
	}

	update(true)
	await.Explain(t, 2*time.Second, "update visible in raw list", func() (bool, string) {
		_, updated, desc := listed()
		return updated, fmt.Sprintf("want weight 2.5, enabled, metadata %v; %s", meta2, desc)
	})
	await.Explain(t, 2*time.Second, "update visible in raw detail", func() (bool, string) { return detail(true) })

	// enable=false (the client's spelling; Nacos reads "enable" on update)
	// hides the host from instance/list, as Nacos does, but keeps it.
	update(false)
	await.Explain(t, 2*time.Second, "disabled host left instance/list", func() (bool, string) {
		found, _, desc := listed()
		return !found, desc
	})
	// Beats after the update must neither re-enable it nor restore the old
	// metadata.
	end := time.Now().Add(3 * beatIntervalMs * time.Millisecond)
	for time.Now().Before(end) {
		if found, _, desc := listed(); found {
			t.Fatalf("after beats: disabled host is listed again: %s", desc)
		}
		if ok, desc := detail(false); !ok {
			t.Fatalf("after beats: %s", desc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
