# shabunble Makefile. The offline test world (buildkitd, registry, base
# images, pip index) is prepared by integration/testworld; see
# integration/world/README.md.

GO ?= go
WORLD_ENV := .world/env
# Sources the world's env file into a recipe's shell.
WITH_WORLD := set -a && . ./$(WORLD_ENV) && set +a &&

.PHONY: world world-down world-env frontend test demo

## world: make the test world ready (idempotent) and write .world/env
world:
	$(GO) run ./integration/testworld up

## world-down: stop buildkitd and the registry/pip index server
world-down:
	$(GO) run ./integration/testworld down

world-env:
	@$(GO) run ./integration/testworld env

## frontend: rebuild the frontend binary and push its image to the world
frontend:
	$(GO) run ./integration/testworld frontend

## test: all tests against the world, after a one-sample smoke run of the
## bench (first, so that go test's summary is the last thing printed)
test: world
	$(WITH_WORLD) $(GO) run ./bench -runs 1 -smoke -out $${TMPDIR:-/tmp}/shabunble-bench-smoke.md >/dev/null
	$(WITH_WORLD) $(GO) test -count=1 -timeout 40m ./...

## demo: build examples/python-basic through `# syntax=`, run it, show that no shell runs
demo: world
	@$(WITH_WORLD) GO=$(GO) ./integration/demo/demo.sh

## bench: shabunble vs hand-written Dockerfiles on the same BuildKit; prints
## the table and writes BENCHMARKS.md (BENCH_RUNS=1 is the smoke mode)
BENCH_RUNS ?= 5
.PHONY: bench
bench: world
	$(WITH_WORLD) $(GO) run ./bench -runs $(BENCH_RUNS) $(if $(filter 1,$(BENCH_RUNS)),-smoke) -out BENCHMARKS.md -command "make bench BENCH_RUNS=$(BENCH_RUNS)"
