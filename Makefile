# idcenter developer tasks. `make help` lists them.
GO ?= go
export CGO_ENABLED ?= 1

.PHONY: help test test-short bench run build check fmt vet

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

test: ## Run every test (race detector on); PostgreSQL tests need IDCENTER_TEST_POSTGRES
	$(GO) test -race -count=1 -timeout 15m ./...

test-short: ## Run the tests without the race detector
	$(GO) test -count=1 ./...

bench: ## Run the store benchmarks (100,000 users) on SQLite and PostgreSQL
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./internal/store/storetest/

run: ## Start a server on the embedded SQLite default
	$(GO) run ./cmd/idcenter serve

build: ## Build the idcenter binary (pure Go, no cgo)
	CGO_ENABLED=0 $(GO) build -o idcenter ./cmd/idcenter

fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet
	$(GO) vet ./...

check: vet test ## vet and test
