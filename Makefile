# roster's build. `make run` starts one node on the defaults; `make test`
# is what CI runs (.ci/run): vet and gofmt, every test with -race, short
# fuzz runs of the request parsers, and the nacos-sdk-go compatibility
# suite (a nested module, so its dependencies stay out of roster's go.mod).

GO       ?= go
FUZZTIME ?= 5s
BIN      ?= bin/roster

# Fuzz targets as package:Target; go test runs one target per invocation.
FUZZ := ./internal/param:FuzzParse ./internal/param:FuzzMetadata ./internal/param:FuzzIP \
        ./node:FuzzNacosAPI ./node:FuzzNativeAPI

.PHONY: all build run test vet lint testrace fuzz compat tidy bench clean

all: build

build:
	$(GO) build -o $(BIN) .

run: build
	./$(BIN) agent

test: vet testrace fuzz compat

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet

testrace:
	$(GO) test -race -count=1 ./...

fuzz:
	@set -e; for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

compat:
	cd compat/nacos && $(GO) vet ./... && $(GO) test -race -count=1 ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./store/ ./node/

tidy:
	$(GO) mod tidy
	cd compat/nacos && $(GO) mod tidy
	git diff --exit-code go.mod go.sum compat/nacos/go.mod compat/nacos/go.sum

clean:
	rm -rf bin
