#!/bin/sh
# Regenerates nacos_grpc.pb.go and nacos_grpc_grpc.pb.go from
# nacos_grpc.proto with protoc (Debian's protobuf-compiler) and the
# protoc-gen-go and protoc-gen-go-grpc versions go.mod pins as tools.
set -eu
command -v protoc >/dev/null || { echo "pb: protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  nacos_grpc.proto
