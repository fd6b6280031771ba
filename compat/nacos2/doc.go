// Package nacos2 holds roster's compatibility tests against the real Nacos
// 2.x Go client, github.com/nacos-group/nacos-sdk-go/v2 v2.3.2, which
// speaks gRPC to each server's HTTP port + 1000.
//
// It is a separate module so that the client's dependencies stay out of
// roster's own go.mod. The tests build the roster binary from the
// repository root (or use $ROSTER_BIN) and cmd/nacos2client, start a
// three-node cluster of `roster agent` processes on free loopback ports,
// and drive it through the unmodified client; raw HTTP to the Nacos v1 API
// shows what each node holds. Every process is stopped by its PID. Run
// them with
//
//	cd compat/nacos2 && go test -race -count=1 ./...
package nacos2
