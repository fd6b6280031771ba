# roster's build. `make run` starts one node on the defaults; `make test`
# is what CI runs (.ci/run): vet and gofmt, every test with -race, short
# fuzz runs of the request parsers, the nacos-sdk-go and Consul client
# compatibility suites and the web console's tests in headless Chromium
# (nested modules under compat/, so their dependencies stay out of
# roster's go.mod), and, inside testrace, the short chaos suite
# (internal/chaos/run_test.go, ~75 s). `make screenshots` regenerates the
# console's screenshots in docs/img/.

GO       ?= go
FUZZTIME ?= 5s
BIN      ?= bin/roster

# Fuzz targets as package:Target; go test runs one target per invocation.
FUZZ := ./internal/param:FuzzParse ./internal/param:FuzzMetadata ./internal/param:FuzzIP \
        ./agent:FuzzNacosAPI ./agent:FuzzNativeAPI ./peer:FuzzWireRecords ./peer:FuzzStreamFrame ./durable:FuzzDecodeSnapshot \
        ./door/dns:FuzzDNSHandler ./door/consul:FuzzConsulAPI

SEED     ?= $(shell date +%s)

.PHONY: all build run cluster chaos chaos-broken test vet lint testrace fuzz compat tidy bench clean screenshots

all: build

build:
	$(GO) build -o $(BIN) .

run: build
	./$(BIN) agent

# cluster starts three nodes on loopback (HTTP 8848-8850, gossip 7946-7948)
# joined through the first, and stops them all (by PID) on Ctrl-C.
cluster: build
	@echo "roster: 3 nodes on http://127.0.0.1:8848, :8849, :8850 (Ctrl-C stops them)"
	@trap 'kill $$p1 $$p2 $$p3 2>/dev/null; wait' INT TERM EXIT; \
	./$(BIN) agent --name node1 --http 127.0.0.1:8848 --gossip 127.0.0.1:7946 & p1=$$!; \
	./$(BIN) agent --name node2 --http 127.0.0.1:8849 --gossip 127.0.0.1:7947 --join 127.0.0.1:7946 & p2=$$!; \
	./$(BIN) agent --name node3 --http 127.0.0.1:8850 --gossip 127.0.0.1:7948 --join 127.0.0.1:7946 & p3=$$!; \
	wait

# chaos runs every chaos scenario against real processes (5 nodes; 1,000
# beating instances in the rolling and crashloop scenarios, 300 in the others;
# hostile clients throughout; in the overload scenario a flood at twice the
# capacity it measures; the partition through network namespaces
# when run as root with iproute2, else through --debug-faults) and checks
# the history against DESIGN.md's invariants; `make chaos SEED=n` replays
# a run. `make test` runs a short version (go test ./internal/chaos/).
# chaos-broken builds roster with -tags chaosbroken (a new owner skips the
# fresh timeout it owes the instances it takes over) and succeeds only if
# the suite catches it, printing the violations with their history.
CHAOSFLAGS ?= --nodes 5 --instances 300 --rolling-instances 1000 --beat 1s --duration 45s
# A scenario with violations keeps its agents' output (info level) under
# CHAOSLOGS/<scenario>; one that passes leaves nothing behind.
CHAOSLOGS ?= /tmp/roster-chaos-logs-$(SEED)

chaos:
	@command -v ip >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || apt-get install -y iproute2 >/dev/null 2>&1 || \
	  echo "chaos: iproute2 not installed; the partition scenario uses --debug-faults"
	$(GO) run ./internal/chaos/cmd/chaos --seed $(SEED) --scenario all $(CHAOSFLAGS) \
	  --logdir $(CHAOSLOGS) --log-level info --prune-passing

chaos-broken:
	$(GO) run ./internal/chaos/cmd/chaos --seed $(SEED) --scenario owner --nodes 3 --instances 30 --duration 10s --idle 300 \
	  --tags chaosbroken --expect-violations

test: vet testrace fuzz compat

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet

# generate regenerates the MessagePack code of store (store/*_gen.go) with
# msgp at the version go.mod pins (its `tool` line), and the protobuf and
# gRPC code of door/grpcdoor/pb (*.pb.go) with protoc (Debian's
# protobuf-compiler) and the protoc-gen-go and protoc-gen-go-grpc that
# go.mod pins. check-generated, part
# of vet and so of `make test`, regenerates it into the tree and fails if
# that changed anything: a generated type was edited without `make generate`.
.PHONY: generate check-generated docs-check
vet: check-generated docs-check

# docs-check: every relative link in README.md and docs/ resolves to a file
# (and anchor) in the repository, and docs/design.md's package graph
# matches `go list`.
docs-check:
	python3 .ci/docs-check.py
	python3 .ci/graph-check.py

generate:
	$(GO) generate ./...

check-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && mkdir "$$tmp/old" "$$tmp/new" && \
	  find . \( -name '*_gen.go' -o -name '*.pb.go' \) -not -path './.git/*' | tar -cf - -T - | tar -xf - -C "$$tmp/old" && \
	  $(GO) generate ./... && \
	  find . \( -name '*_gen.go' -o -name '*.pb.go' \) -not -path './.git/*' | tar -cf - -T - | tar -xf - -C "$$tmp/new" && \
	  if ! diff -ru "$$tmp/old" "$$tmp/new"; then \
	    echo "check-generated: the generated code was stale (diff above); \`make generate\` has rewritten it: review and commit it" >&2; \
	    exit 1; \
	  fi

testrace:
	$(GO) test -race -count=1 ./...

# A fuzz run that ends with Go's own "context deadline exceeded" (its
# workers did not stop in time on a loaded machine) and reports no failing
# input is run once more; a real finding (a failing input written to
# testdata) fails at once.
fuzz:
	@set -e; for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  out=$$(mktemp); \
	  if ! $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg >$$out 2>&1; then \
	    cat $$out; \
	    if grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input' $$out; then \
	      echo "fuzz $$name: the fuzzing engine timed out stopping its workers; running it again"; \
	      $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	    else rm -f $$out; exit 1; fi; \
	  else cat $$out; fi; \
	  rm -f $$out; \
	done

# compat/nacos2 (nacos-sdk-go v2, gRPC) runs without -race: the client's
# own reconnect path has data races (rpc_client.go, v2.3.2); roster runs in
# separate processes either way.
compat:
	cd compat/nacos && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd compat/consul && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd compat/console && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd compat/nacos2 && $(GO) vet ./... && $(GO) test -count=1 ./...

# screenshots: the console's tests also write their screenshots to
# docs/img/ (tracked; CI never runs this).
screenshots:
	cd compat/console && $(GO) test -count=1 -run '^TestConsole' ./... -screenshots $(CURDIR)/docs/img

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./store/ ./ring/
	$(GO) test -run='^$$' -bench='Nacos|ReplicationLag' -benchmem ./agent/
	$(GO) test -run='^$$' -bench=JoinSync100k -benchtime=1x ./agent/
	$(GO) run ./gossip/internal/detectbench

tidy:
	$(GO) mod tidy
	cd compat/nacos && $(GO) mod tidy
	cd compat/consul && $(GO) mod tidy
	cd compat/console && $(GO) mod tidy
	cd compat/nacos2 && $(GO) mod tidy
	git diff --exit-code go.mod go.sum compat/nacos/go.mod compat/nacos/go.sum compat/consul/go.mod compat/consul/go.sum \
	  compat/console/go.mod compat/console/go.sum compat/nacos2/go.mod compat/nacos2/go.sum

clean:
	rm -rf bin
