// Package nacos holds roster's compatibility tests against the real Nacos Go
// client, github.com/nacos-group/nacos-sdk-go v1.1.4.
//
// It is a separate module so that the client's many dependencies stay out of
// roster's own go.mod. The tests build the roster binary from the repository
// root (or use $ROSTER_BIN), start `roster agent` on free loopback ports, and
// drive it through the unmodified client, checking what the client sees and,
// with raw HTTP, what the server holds. Run them with
//
//	cd compat/nacos && go test -race -count=1 ./...
package nacos
