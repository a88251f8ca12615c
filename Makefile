# The two set-up commands: `make run` (the nightly job on the synthesised sample) and
# `make test` (every test). Both work on a fresh clone with only a Rust toolchain.

CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/burgerpeiling
SAMPLE := data/sample

.PHONY: build run test bench report-demo clean

build:
	$(CARGO) build --release --locked

# The sample inbox is synthesised once; delete data/sample to make it anew.
$(SAMPLE)/inbox: | build
	$(BIN) synth --out $(SAMPLE)

run: build $(SAMPLE)/inbox
	$(BIN) run --pipeline pipelines/nightly.toml

test:
	$(CARGO) test --locked --features kill-points

# The reports of the sample run, for a look in a browser.
report-demo: run
	@echo "run report:"
	@ls -1t data/lake/reports/runs/*.html | head -n 1
	@echo "delivery reports:"
	@ls -1 data/lake/reports/deliveries/*.html

# Criterion benchmarks (not part of `make test`); the first run synthesises the corpus.
bench:
	$(CARGO) bench --locked

clean:
	rm -rf data/lake data/sample
