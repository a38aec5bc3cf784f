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

## test: all tests, against the world
test: world
	$(WITH_WORLD) $(GO) test -count=1 -timeout 40m ./...

## demo: build examples/python-basic through `# syntax=`, run it, show that no shell runs
demo: world
	@$(WITH_WORLD) GO=$(GO) ./integration/demo/demo.sh
