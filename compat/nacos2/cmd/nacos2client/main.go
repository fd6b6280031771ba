// Command nacos2client registers one instance with roster through the
// unmodified nacos-sdk-go v2 client (gRPC), prints "registered" and holds
// the connection until it is killed. The compatibility tests start it and
// SIGKILL it by PID, to see the instance go when the connection dies.
//
//	nacos2client -servers 127.0.0.1:8848,127.0.0.1:8849 -service svc -ip 10.0.0.1 -port 80 -dir /tmp/x
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"
)

func main() {
	servers := flag.String("servers", "", "comma-separated HTTP host:port of the nodes (gRPC is each port + 1000)")
	service := flag.String("service", "", "service name")
	ip := flag.String("ip", "", "instance ip")
	port := flag.Uint64("port", 0, "instance port")
	dir := flag.String("dir", os.TempDir(), "directory for the client's cache and logs")
	flag.Parse()
	if err := run(*servers, *service, *ip, *port, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "nacos2client:", err)
		os.Exit(1)
	}
	select {}
}

func run(servers, service, ip string, port uint64, dir string) error {
	var sc []constant.ServerConfig
	for _, s := range strings.Split(servers, ",") {
		host, p, err := net.SplitHostPort(s)
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return err
		}
		sc = append(sc, constant.ServerConfig{IpAddr: host, Port: n})
	}
	cc := constant.ClientConfig{TimeoutMs: 5000, NotLoadCacheAtStart: true, CacheDir: dir, LogDir: dir, LogLevel: "warn"}
	c, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: sc})
	if err != nil {
		return err
	}
	ok, err := c.RegisterInstance(vo.RegisterInstanceParam{Ip: ip, Port: port, ServiceName: service, Weight: 1,
		Enable: true, Healthy: true, Ephemeral: true})
	if err != nil || !ok {
		return fmt.Errorf("register: %v %v", ok, err)
	}
	fmt.Println("registered")
	return nil
}
