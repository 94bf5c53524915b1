# crmpulse — build, test and run targets. Everything the targets need is
# provisioned by scripts/ (Redis 8 via scripts/redis.sh).
GO      ?= go
BIN     := bin/crmpulse
PKGS    := ./...

.PHONY: all build test fmt-check vet unit demo bench chaos redis redis-stop clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/crmpulse

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# test: formatting, vet, and the race-enabled test suite against real Redis
# (each test package starts a private Redis 8 through scripts/redis.sh).
test: fmt-check vet
	scripts/redis.sh bin >/dev/null
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

# demo: local Redis + the CRM sandbox, one full cycle on the built-in defaults.
demo: build
	./$(BIN) demo

bench: build
	./$(BIN) bench

chaos:
	scripts/redis.sh bin >/dev/null
	CRMPULSE_CHAOS=full $(GO) test -count=1 -timeout 60m -run 'Chaos' ./...

redis:
	scripts/redis.sh start

redis-stop:
	scripts/redis.sh stop

clean:
	rm -rf bin out
