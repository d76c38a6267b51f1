# Kinesis → MSK → Lambda in Rust. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .tools/venv
# cfn-guard (AWS CloudFormation Guard, crate registry) for the deploy-readiness rules.
CFN_GUARD_VERSION := 3.2.1
CFN_GUARD   := .tools/bin/cfn-guard
NODE_TOOLS  := tools/node_modules
# Repo-local tools (cargo-lambda, zig) come first on PATH for every target.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Apache Kafka's jars (Maven Central) live in a cache outside the clone.
KAFKA_LIBS  := $(shell bash tools/install-jars.sh kafka --path)
# The Kafka Connect worker (connect-runtime 3.7.x) the Camel connector runs on.
CONNECT_LIBS := $(shell bash tools/install-jars.sh connect --path)

NEXTEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo yes)
NEXTEST_PROFILE ?= $(if $(CI),ci,default)

.PHONY: help tools system-packages demo demo-optimised template build zips build-native test lint fmt samples large-sample invoke-producer invoke-consumer watch bench bench-connector bench-bridges clean package deploy status logs invoke destroy local-up local-status local-down kafka aarch64-target test-aarch64

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

tools: system-packages $(VENV)/.installed $(NODE_TOOLS)/.installed $(CFN_GUARD) kafka ## Install cargo-lambda, moto, cfn-lint, checkov, awslambdaric, the AWS CLI (PyPI), kinesalite and kinesis-local (npm), cfn-guard (crates) into the repo and Apache Kafka + Kafka Connect (Maven Central) into ~/.cache

system-packages:
	@bash tools/install-system-packages.sh

$(VENV)/.installed: tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

$(CFN_GUARD):
	@# Built once (~3 min on 2 cores); its build directory lives in the cache outside the clone.
	cargo install cfn-guard --version $(CFN_GUARD_VERSION) --locked --quiet --root .tools \
	  --target-dir "$${KML_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kinesis-msk-lambda}/cfn-guard-build"

$(NODE_TOOLS)/.installed: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The Kinesis → Kafka hop: camel (the Camel connector on Kafka Connect, the
# default) or lambda (the kinesis-forwarder behind a Kinesis event source mapping).
BRIDGE ?= camel

demo: tools ## The whole pipeline locally: 20,000 rides through Kinesis, Kafka and Lambda, then a report (lost must be 0); BRIDGE=lambda for the forwarder hop
	@# cargo's own progress on screen while the first run compiles; then quiet.
	cargo build -p local --bin local
	cargo run -q -p local -- demo --bridge $(BRIDGE) $(DEMO_ARGS)

local-up: tools ## The local pipeline until stopped (Ctrl-C or `make local-down`); `make local-status` from another terminal; BRIDGE=lambda for the forwarder hop
	cargo build -p local --bin local
	cargo run -q -p local -- up --bridge $(BRIDGE) $(LOCAL_ARGS)

local-status: ## Is a local pipeline running? Its loopback endpoints and counters
	cargo run -q -p local -- status

local-down: ## Stop the running local pipeline (it reports first; nothing is left running)
	cargo run -q -p local -- down

demo-optimised: tools ## The demo with optimised builds (profile `demo`; the first run compiles everything again, ~15 min here)
	@# One build of the stack and both functions with the feature set
	@# `cargo lambda watch --profile demo` will ask for, so it compiles nothing.
	cargo build --profile demo --bin local --bin producer --bin kinesis-forwarder --bin msk-consumer
	LOCAL_FUNCTIONS_PROFILE=demo cargo run -q --profile demo --bin local -- demo --bridge $(BRIDGE) $(DEMO_ARGS)

build: tools aarch64-target ## Release build of the four Lambdas for arm64 (provided.al2023), as zip files in target/lambda/
	@# tools/cross/include/curl/curl.h says why librdkafka needs it.
	CFLAGS_aarch64_unknown_linux_gnu="-I$(CURDIR)/tools/cross/include" \
	  cargo lambda build --release --arm64 --output-format zip -p producer -p msk-consumer -p topic-creator -p kinesis-forwarder
	@$(MAKE) --no-print-directory zips

# Where cargo-lambda writes the zips (<dir>/<function>/bootstrap.zip).
LAMBDA_DIR ?= $(or $(CARGO_TARGET_DIR),target)/lambda

zips: ## Each function zip beside its size budget; fails past one (`make build` ends with it; ZIP_BUDGETS=function=bytes,… overrides for one run)
	$(INFRA) zips --lambda-dir "$(LAMBDA_DIR)"

aarch64-target:
	@rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$$' || rustup target add aarch64-unknown-linux-gnu

# The events, msk-consumer and lambda-init tests built for aarch64 and run
# under qemu (Debian's qemu-user and the aarch64 cross gcc), so the NEON
# paths of the SIMD scans and base64, and TLS on ring's arm64 code, run
# somewhere before Graviton. `--cfg qemu_tests`
# leaves out the tests that start local services.
AARCH64_TEST_ENV := CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="--cfg qemu_tests" \
  CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++ \
  AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

test-aarch64: aarch64-target ## The events, msk-consumer and lambda-init tests for aarch64 under qemu-aarch64 (NEON paths; TLS on ring's arm64 code)
	@bash tools/install-system-packages.sh --cross
	$(AARCH64_TEST_ENV) cargo test --target aarch64-unknown-linux-gnu -p events -p msk-consumer -p lambda-init

build-native: tools ## Release build for this machine's architecture (no cross target needed; the size budgets are arm64's, not checked here)
	cargo lambda build --release --output-format zip -p producer -p msk-consumer -p topic-creator -p kinesis-forwarder

test: tools ## Run every test: unit, property, emulator and cargo-lambda tests
	cargo build --workspace --all-targets
	@# The functions as `cargo lambda watch` runs them (`cargo run --bin`, normal
	@# dependencies only: other features than the test build), built here
	@# once instead of inside the first test that starts them.
	cargo build --bin producer --bin kinesis-forwarder --bin msk-consumer
ifeq ($(NEXTEST),yes)
	cargo nextest run --workspace --profile $(NEXTEST_PROFILE)
else
	cargo test --workspace
endif

kafka: $(KAFKA_LIBS)/.installed $(CONNECT_LIBS)/.installed ## Fetch Apache Kafka (the broker) and Kafka Connect (the connector's worker) from Maven Central into ~/.cache

$(KAFKA_LIBS)/.installed: tools/kafka/pom.xml
	@bash tools/install-jars.sh kafka >/dev/null

$(CONNECT_LIBS)/.installed: tools/connect/pom.xml
	@bash tools/install-jars.sh connect >/dev/null

lint: ## Formatting and clippy with warnings as errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

samples: ## Regenerate events/samples/*.json from the contract (review the diff)
	cargo run -q -p events --bin gen-samples

large-sample: ## Write the near-6 MB MSK batch to target/msk-large.json
	cargo run -q -p events --bin gen-samples -- --large target/msk-large.json

# The consumer refuses to start without a dead-letter sink: under `make
# watch` it gets a directory in target/ unless you set one.
WATCH_DEAD_LETTER_DIR ?= $(CURDIR)/target/watch-dead-letters

watch: tools ## Serve both functions locally (cargo lambda watch on 127.0.0.1:9000; dead letters in target/watch-dead-letters)
	DEAD_LETTER_DIR="$${DEAD_LETTER_DIR:-$(WATCH_DEAD_LETTER_DIR)}" STORE_RIDES="$${STORE_RIDES:-false}" cargo lambda watch -A 127.0.0.1 -P 9000

invoke-producer: tools ## Invoke the producer under `make watch` with the schedule sample
	cargo lambda invoke producer -A 127.0.0.1 -P 9000 --data-file events/samples/schedule-event.json

invoke-consumer: tools ## Invoke the consumer under `make watch` with an MSK sample
	cargo lambda invoke msk-consumer -A 127.0.0.1 -P 9000 --data-file events/samples/msk-headers.json

bench: tools ## Benchmarks: cold starts beside a do-nothing Lambda, the consumer's Lambda path (Runtime API) vs a floor and a Python Lambda, in-process Rust vs Python, criterion phases, the write path (rides table)
	@# cold_start builds the functions' release binaries with their deployed
	@# features (and the do-nothing Lambda they are compared with) itself.
	cargo bench -p msk-consumer --bench cold_start
	cargo bench -p msk-consumer --bench lambda_path
	cargo bench -p msk-consumer --bench compare
	cargo bench -p msk-consumer --bench decode
	cargo bench -p msk-consumer --bench store_path

bench-bridges: tools ## The Camel hop and the forwarder hop side by side: rides/s per shard at 2, 4 and 8 shards, latency, duplicates after a kill, loss after a 60 s broker freeze, memory, cost (BENCHMARKS.md)
	cargo build -q --bin kinesis-forwarder --bin producer --bin msk-consumer
	cargo bench -p local --bench bridges

bench-connector: tools ## Rides/s through the real Camel connector: the template's properties beside the plugin's defaults (BENCHMARKS.md)
	cargo bench -p local --bench connector_rate

# AWS: credentials from the default chain; AWS_PROFILE, AWS_REGION and
# STACK_NAME choose; INFRA_ARGS passes more flags (`infra <command> --help`).
INFRA ?= cargo run -q -p infra --

package: tools ## AWS: build the Lambdas (arm64), fetch the Camel plugin, upload what changed
	$(INFRA) package $(INFRA_ARGS)

deploy: tools ## AWS: package, then create/update the stack via a change set (asks first), following its events
	$(INFRA) deploy $(INFRA_ARGS)

status: ## AWS: stack outputs, event source mapping, connector state, consumer lag, alarm states
	$(INFRA) status $(INFRA_ARGS)

logs: ## AWS: producer, consumer and connector logs (INFRA_ARGS="--follow --since 30m")
	$(INFRA) logs $(INFRA_ARGS)

invoke: ## AWS: invoke the deployed producer with events/samples/producer-invoke.json
	$(INFRA) invoke $(INFRA_ARGS)

destroy: ## AWS: delete the stack (asks first); INFRA_ARGS=--purge also removes the artifacts bucket
	$(INFRA) destroy $(INFRA_ARGS)

template: tools ## Render infra/cloudformation/template.json, then cfn-guard (deploy-readiness rules), cfn-lint and checkov
	cargo run -q -p infra -- template --out infra/cloudformation/template.json
	cargo run -q -p infra -- guard infra/cloudformation/template.json
	$(VENV)/bin/cfn-lint infra/cloudformation/template.json
	cd infra && BC_SKIP_MAPPING=TRUE ../$(VENV)/bin/checkov --framework cloudformation --skip-download --compact --quiet -f cloudformation/template.json

clean: ## Remove build output and the repo-local tools
	cargo clean
	rm -rf .tools $(NODE_TOOLS)
