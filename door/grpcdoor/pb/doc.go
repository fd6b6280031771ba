// Package pb holds the protobuf and gRPC code of the Nacos 2.x client
// protocol, generated from nacos_grpc.proto by `make generate` (gen.sh).
// Do not edit the *.pb.go files.
package pb

//go:generate sh gen.sh
