# crmpulse — build, test and run targets. Everything the targets need is
# provisioned by scripts/ (Redis 8 via scripts/redis.sh).
GO      ?= go
BIN     := bin/crmpulse
PKGS    := ./...

.PHONY: all build test fmt-check vet unit demo bench chaos vulncheck redis redis-stop clean

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

# bench-quick: the smoke-test run (200 accounts, 3k vectors; under 2 minutes).
# bench-full: 2k and 100k accounts, 3k, 100k and 1M vectors (the 1M build
# alone takes about 25 minutes of inserts on 2 cores).
.PHONY: bench-quick bench-full
bench-quick: build
	./$(BIN) bench --quick

bench-full: build
	./$(BIN) bench --accounts 2000,100000 --vectors 3000,100000,1000000 --json out/bench-full.json

# chaos: the full fault-tolerance and security suite (internal/chaos; at
# least 20 trials per kind), then a summary of the trial counts. The quick
# subset runs inside `make test`. CRMPULSE_CHAOS_TRIALS=N overrides the count.
chaos:
	scripts/redis.sh bin >/dev/null
	@mkdir -p out
	@CRMPULSE_CHAOS=full $(GO) test -count=1 -timeout 90m -v -run 'Chaos|Security' ./internal/chaos/ > out/chaos.log 2>&1; \
	status=$$?; \
	grep -E '^(--- (PASS|FAIL)|chaos:|FAIL|ok )|kill -9 .*trials' out/chaos.log; \
	echo "full log: out/chaos.log"; exit $$status

# vulncheck: govulncheck at a pinned version against vuln.go.dev. Exits
# non-zero only on findings; an unreachable database is reported, not failed.
GOVULNCHECK_VERSION ?= v1.1.4
vulncheck:
	@GOBIN=$(CURDIR)/bin $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@if ! curl -fsS -o /dev/null --max-time 10 https://vuln.go.dev/index/db.json 2>/dev/null; then \
		echo "vulnerability database unreachable (https://vuln.go.dev): govulncheck $(GOVULNCHECK_VERSION) not run"; exit 0; fi; \
	./bin/govulncheck ./...

redis:
	scripts/redis.sh start

redis-stop:
	scripts/redis.sh stop

clean:
	rm -rf bin out
