# The two set-up commands: `make run` (the nightly job on the synthesised sample) and
# `make test` (every test). Both work on a fresh clone with only a Rust toolchain.
# `make bench` runs the benchmarks (it also needs Python for the Polars peer job).

CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/burgerpeiling
SAMPLE := data/sample

.PHONY: build run test bench bench-criterion bench-e2e report-demo clean

build:
	$(CARGO) build --release --locked --features synth

# The sample inbox is synthesised once; delete data/sample to make it anew.
$(SAMPLE)/inbox: | build
	$(BIN) synth --out $(SAMPLE)

run: build $(SAMPLE)/inbox
	$(BIN) run --pipeline pipelines/nightly.toml

test:
	$(CARGO) test --locked --features kill-points,synth

# The reports of the sample run, for a look in a browser.
report-demo: run
	@echo "run report:"
	@ls -1t data/lake/reports/runs/*.html | head -n 1
	@echo "delivery reports:"
	@ls -1 data/lake/reports/deliveries/*.html
	@echo "findings pages (national, per municipality):"
	@ls -1 data/lake/reports/findings/*.html

# Benchmarks, never part of `make test` (see BENCHMARKS.md): the criterion benchmarks of the
# hot paths (the first run synthesises their corpus), then the end-to-end benchmark
# (bench/run.sh: RUNS=5 repetitions by default, RUNS_10X=1 of the 10x corpus, PEER=0 skips Polars).
bench: bench-criterion bench-e2e

bench-criterion:
	$(CARGO) bench --locked --features synth

bench-e2e:
	bench/run.sh

clean:
	rm -rf data/lake data/sample
