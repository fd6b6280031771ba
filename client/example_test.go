package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/roster-io/roster/client"
)

// A service registers itself once it listens, serves, and on SIGTERM
// leaves the registry before it stops serving.
func Example() {
	c, err := client.New(client.Config{Addrs: []string{
		"http://10.0.0.1:8848", "http://10.0.0.2:8848", "http://10.0.0.3:8848"}})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: ":8080"}
	go func() { _ = srv.ListenAndServe() }()

	ctx := context.Background()
	_, err = c.Register(ctx, client.Registration{
		InstanceKey: client.InstanceKey{Service: client.Service{Name: "orders"}, IP: "10.0.0.7", Port: 8080},
		Metadata:    map[string]string{"version": "1.4.2"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Blocks until SIGTERM or SIGINT, deregisters, waits until every node
	// dropped the instance and 5 s more, then shuts the server down.
	if err := c.Graceful(ctx, client.GracefulConfig{Drain: 5 * time.Second, OnShutdown: srv.Shutdown}); err != nil {
		log.Print(err)
	}
}

// Watch calls back with the current list and then on every change.
func ExampleClient_Watch() {
	c, err := client.New(client.Config{Addrs: []string{"http://127.0.0.1:8848"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = c.Watch(ctx, client.Query{Service: client.Service{Name: "orders"}, HealthyOnly: true},
		func(instances []client.Instance) {
			for _, in := range instances {
				fmt.Printf("%s:%d ", in.IP, in.Port)
			}
			fmt.Println()
		})
}

// List reads a service from any node that answers.
func ExampleClient_List() {
	c, err := client.New(client.Config{Addrs: []string{"https://roster-1:8848", "https://roster-2:8848"},
		CAFile: "/etc/roster/ca.pem", Token: "s3cret"})
	if err != nil {
		log.Fatal(err)
	}
	instances, err := c.List(context.Background(), client.Query{Service: client.Service{Name: "orders"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(instances), "instances")
}
